#include "proxy/plugin/authz_server.hpp"

#include "core/graph/bounded_parser.hpp"
#include "core/identity/cidr.hpp"
#include "core/text/log.hpp"
#include "core/text/text.hpp"
#include "proxy/answer/access_log.hpp"
#include "proxy/answer/answer.hpp"
#include "proxy/answer/headers.hpp"
#include "proxy/answer/policy_answer.hpp"
#include "proxy/answer/recheck.hpp"
#include "proxy/answer/verdict_lookup.hpp"
#include "proxy/http/refusal.hpp"
#include "proxy/http/request_id.hpp"
#include "proxy/http/response_framing.hpp"
#include "proxy/listener.hpp"
#include "proxy/plugin/authz_request.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <atomic>
#include <mutex>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <vector>

namespace ig {
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr auto nothrow = net::as_tuple(net::use_awaitable);
constexpr auto linger_time = std::chrono::seconds(1);
constexpr std::size_t linger_bytes = 1 << 20;
constexpr std::size_t max_logged_path = 512;
constexpr auto untrusted_log_interval = std::chrono::minutes(1);
constexpr std::size_t max_tracked_peers = 4096;

// Once per peer per minute at most: an unknown host knocking must not flood the log.
class UntrustedLog {
public:
    void note(const std::string& peer) {
        std::uint64_t suppressed = 0;
        {
            std::lock_guard lock(mutex_);
            const auto now = clock_type::now();
            if (seen_.size() >= max_tracked_peers) {
                for (auto it = seen_.begin(); it != seen_.end();)
                    it = now - it->second.last >= untrusted_log_interval ? seen_.erase(it) : std::next(it);
                if (seen_.size() >= max_tracked_peers) seen_.clear();
            }
            auto [it, fresh] = seen_.try_emplace(peer, Entry{now, 0});
            if (!fresh && now - it->second.last < untrusted_log_interval) {
                ++it->second.suppressed;
                return;
            }
            suppressed = fresh ? 0 : it->second.suppressed;
            it->second = Entry{now, 0};
        }
        log::warn("authz: connection from an untrusted peer refused (logged once per peer per minute)",
                  {{"client", peer}, {"refused_since_last_line", suppressed}});
    }

private:
    struct Entry {
        clock_type::time_point last;
        std::uint64_t suppressed;
    };
    std::mutex mutex_;
    std::unordered_map<std::string, Entry> seen_;
};

}  // namespace

struct AuthzServer::Impl {
    Impl(std::shared_ptr<const Runtime> rt, ComplianceService& c, ProxyMetrics& m)
        : runtime(std::move(rt)), compliance(c), metrics(m) {}

    // Read per check: a reload (a new CRL, client_ca or trusted_peers) applies to the next check
    // on a connection already open.
    Current<Runtime> runtime;
    ComplianceService& compliance;
    ProxyMetrics& metrics;
    // Before io: the io_context's destructor destroys suspended connections, which unregister.
    ConnectionCount connections;
    IdleRegistry idle;
    UntrustedLog untrusted_log;
    net::io_context io;
    tcp::acceptor acceptor{io};
    std::vector<std::thread> threads;
    std::atomic<bool> listening{false};
    std::atomic<bool> draining{false};
    std::uint16_t port = 0;
    bool stopped = false;

    void on_accept(tcp::socket socket);
    net::awaitable<void> serve(tcp::socket socket, std::string client);
    // One check; false when the connection must close after it.
    net::awaitable<bool> check(beast::tcp_stream& stream, beast::flat_buffer& buffer, const std::string& client,
                               const boost::asio::ip::address& peer, IdleRegistry::Member& member);
};

namespace {

// Sends our half-close, then reads (and drops) what the client is still sending for a moment, so
// that the answer is not lost to a reset when unread request bytes remain (nginx's lingering close).
net::awaitable<void> linger_close(beast::tcp_stream& stream) {
    error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    std::vector<char> sink(16 * 1024);
    std::size_t total = 0;
    stream.expires_after(linger_time);
    while (total < linger_bytes) {
        auto [rec, n] = co_await stream.async_read_some(net::buffer(sink), nothrow);
        if (rec) break;
        total += n;
    }
    stream.socket().close(ec);
}

}  // namespace

// A peer outside authz.trusted_peers is closed at once, before it can hold a slot; when every
// slot is taken, the connection idle the longest makes room (docs/hostile-clients.md).
void AuthzServer::Impl::on_accept(tcp::socket socket) {
    const auto rt = runtime.get();
    error_code ec;
    const auto peer = socket.remote_endpoint(ec).address();
    std::string client = ec ? std::string() : unmapped(peer).to_string();
    if (ec || !peer_in(peer, rt->config.authz.trusted_peers)) {
        metrics.count_authz(AuthzResult::UntrustedPeer);
        untrusted_log.note(client);
        socket.close(ec);
        return;
    }
    if (connections.open() >= rt->config.limits.max_connections) {
        if (!idle.evict_oldest_idle()) {
            metrics.authz_refused_max_connections.inc();
            socket.close(ec);
            return;
        }
        metrics.authz_idle_evicted.inc();
    }
    connections.opened();
    metrics.authz_open_connections.add(1);
    auto ex = socket.get_executor();
    net::co_spawn(ex, serve(std::move(socket), std::move(client)), [this](std::exception_ptr e) {
        metrics.authz_open_connections.add(-1);
        log_connection_failure(e, "authz connection failed");
        connections.closed();
    });
}

net::awaitable<void> AuthzServer::Impl::serve(tcp::socket socket, std::string client) {
    beast::tcp_stream stream(std::move(socket));
    IdleRegistry::Member member(idle, stream.get_executor(), [&stream] { stream.cancel(); });
    error_code ec;
    const auto peer = stream.socket().remote_endpoint(ec).address();
    stream.socket().set_option(tcp::no_delay(true), ec);

    beast::flat_buffer buffer;
    while (!draining.load(std::memory_order_relaxed)) {
        if (!co_await check(stream, buffer, client, peer, member)) co_return;
    }
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
}

namespace {

// One answer under construction: the response, its access-log record, and how both are sent.
struct AuthzReply {
    AuthzReply(beast::tcp_stream& s, std::chrono::seconds timeout, std::string client, bool head_request)
        : stream(s), idle_timeout(timeout), head(head_request) {
        rec.request_id = new_request_id();
        rec.client_address = std::move(client);
        res.version(11);
        res.set("X-Request-Id", rec.request_id);
    }

    void json(unsigned status, std::string body) {
        res.result(status);
        res.set(http::field::content_type, "application/json");
        res.body() = std::move(body);
    }

    // True when the connection may carry another check.
    net::awaitable<bool> send(bool keep) {
        rec.status = res.result_int();
        res.keep_alive(keep);
        res.prepare_payload();
        stream.expires_after(idle_timeout);
        error_code ec;
        if (head) {
            http::response_serializer<http::string_body> sr{res};
            std::tie(ec, std::ignore) = co_await http::async_write_header(stream, sr, nothrow);
        } else {
            std::tie(ec, std::ignore) = co_await http::async_write(stream, res, nothrow);
        }
        rec.latency_ms = std::chrono::duration<double, std::milli>(clock_type::now() - start).count();
        if (!ec && !keep) co_await linger_close(stream);
        co_return keep && !ec;
    }

    // send() and the access-log line.
    net::awaitable<bool> finish(bool keep) {
        const bool again = co_await send(keep);
        log_access(rec);
        co_return again;
    }

    beast::tcp_stream& stream;
    const std::chrono::seconds idle_timeout;
    const bool head;
    const clock_type::time_point start = clock_type::now();
    AccessRecord rec;
    http::response<http::string_body> res;
};

// Writes plan_answer()'s answer into the reply.
void fill_answer(AuthzReply& reply, Answer answer, const Runtime& rt) {
    auto& res = reply.res;
    res.result(answer.status);
    if (answer.action == Action::Forward) {
        set_answer_headers(res, rt.headers, answer.facts);
        return;
    }
    for (const auto& [name, value] : answer.headers) res.set(name, value);
    res.body() = std::move(answer.body);
}

// "Check again" through the proxy (proxy/answer/recheck.hpp): the endpoint never reads a body, so
// the browser goes back to the site's root.
net::awaitable<void> recheck(AuthzReply& reply, ComplianceService& compliance, ProxyMetrics& metrics,
                             const std::optional<std::string>& device_id, Dialect dialect, const Runtime& rt) {
    auto done = co_await recheck_device(compliance, device_id, rt.config.intune.recheck_interval, reply.rec.request_id);
    metrics.count_recheck(done.result);
    metrics.count_authz(AuthzResult::Redirected);
    if (done.verdict) note_verdict(reply.rec, *done.verdict, device_id, Action::Redirect);
    reply.rec.device_id = device_id.value_or(std::string());
    reply.rec.action = std::string(to_string(Action::Redirect));
    fill_answer(reply, plan_recheck(dialect, "/"), rt);
}

// A check an access policy cannot place (original request unknown, path or host not accepted):
// 403 with the reason, no lookup (docs/policies.md).
AuthzReply& refuse_unplaced(AuthzReply& reply, ProxyMetrics& metrics, std::string_view reason) {
    metrics.count_authz(AuthzResult::Rejected);
    reply.rec.error = std::string(reason);
    reply.json(403, refusal_body(reply.rec.request_id, reason));
    return reply;
}

AuthzResult result_of(const HeaderIdentity& who, Action action) {
    if (who.no_certificate) return AuthzResult::NoCertificate;
    switch (action) {
        case Action::Forward: return AuthzResult::Allowed;
        case Action::Redirect: return AuthzResult::Redirected;
        case Action::Reject: break;
    }
    return AuthzResult::Rejected;
}

}  // namespace

net::awaitable<bool> AuthzServer::Impl::check(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                              const std::string& client, const boost::asio::ip::address& peer,
                                              IdleRegistry::Member& member) {
    auto in_force = runtime.get();
    // A fresh parser per request, with explicit limits; the body is never read.
    BoundedRequestParser<http::empty_body> parser;
    parser.header_limit(
        static_cast<std::uint32_t>(std::min<std::size_t>(in_force->config.limits.max_header_bytes, UINT32_MAX)));
    member.idle(true);
    stream.expires_after(in_force->config.limits.idle_timeout);
    auto [ec, n] = co_await http::async_read_header(stream, buffer, parser, nothrow);
    member.idle(false);
    // Answered under the configuration in force now: a CRL, client_ca or trusted_peers reloaded
    // while this connection waited applies to this check (docs/hostile-clients.md).
    in_force = runtime.get();
    const Runtime& rt = *in_force;
    const Config& cfg = rt.config;
    const bool trusted = peer_in(peer, cfg.authz.trusted_peers);

    const auto& req = parser.get();
    AuthzReply reply(stream, cfg.limits.idle_timeout, client, !ec && req.method() == http::verb::head);
    auto& rec = reply.rec;
    if (ec) {
        const auto refusal = refusal_for(ec);
        if (!refusal) co_return false;  // closed, idle timeout, or cut off mid-header
        metrics.rejected_requests.inc();
        reply.json(refusal->status, refusal_body(rec.request_id, refusal->reason));
        rec.error = one_line(ec.message(), 200);
        co_await reply.finish(false);
        co_return false;
    }
    rec.method = sanitize_header_value(req.method_string().substr(0, 32));
    rec.path = sanitize_header_value(req.target().substr(0, req.target().find('?')).substr(0, max_logged_path));
    // A check that announces a body is answered, but its body is never read: the connection closes.
    const bool keep = client_keep_alive(parser, draining.load(std::memory_order_relaxed));

    if (!trusted) {  // (left trusted_peers by a reload) answered, not logged per request: UntrustedLog rate-limits the
                     // line
        metrics.count_authz(AuthzResult::UntrustedPeer);
        untrusted_log.note(client);
        reply.json(403, refusal_body(rec.request_id, "untrusted peer"));
        co_await reply.send(false);
        co_return false;
    }
    const auto dialect = authz_dialect(req.target());
    if (!dialect) {
        reply.json(404, refusal_body(rec.request_id, "not found: checks are under /authz"));
        co_return co_await reply.finish(keep);
    }

    const HeaderIdentity who = identify_from_headers(req, cfg.authz, *rt.authz_verifier, cfg.device_id);
    if (who.refusal) {
        metrics.count_authz(*who.refusal);
        rec.error = who.detail.empty() ? who.reason : who.reason + ": " + who.detail;
        reply.json(403, refusal_body(rec.request_id, who.reason));
        co_return co_await reply.finish(keep);
    }
    const auto original = original_request(req, req.target());
    if (original_method(req) == "POST" && is_recheck_path(original.target)) {
        co_await recheck(reply, compliance, metrics, who.device_id, *dialect, rt);
        co_return co_await reply.finish(keep);
    }
    // A check a policy cannot place (no original request, a path not accepted) needs no lookup.
    const PolicyRequest policy_req =
        cfg.policies.empty() ? PolicyRequest{} : original_policy_request(cfg, original.host, original.target);
    if (!policy_req.refused.empty())
        co_return co_await refuse_unplaced(reply, metrics, policy_req.refused).finish(keep);
    const Verdict verdict = co_await lookup_verdict(compliance, who.device_id, who.reason, rec.request_id);
    const PolicyCheck policy = policy_for(cfg, policy_req, verdict);
    Answer answer = plan_answer(
        verdict, who.device_id,
        {*dialect, rec.request_id, req[http::field::accept], original.host, original.target, {}, &policy}, cfg);
    metrics.count_request(verdict.outcome, answer.action);
    metrics.count_authz(result_of(who, answer.action));
    note_verdict(rec, verdict, who.device_id, answer.action);
    note_policy(rec, metrics, policy);
    fill_answer(reply, std::move(answer), rt);
    co_return co_await reply.finish(keep);
}

AuthzServer::AuthzServer(std::shared_ptr<const Runtime> runtime, ComplianceService& compliance, ProxyMetrics& metrics)
    : impl_(std::make_unique<Impl>(std::move(runtime), compliance, metrics)) {}

AuthzServer::~AuthzServer() { stop(); }

void AuthzServer::start() {
    const auto rt = impl_->runtime.get();
    const auto& a = rt->config.authz;
    open_acceptor(impl_->acceptor, tcp::endpoint{net::ip::make_address(a.address), a.port}, false);
    impl_->port = impl_->acceptor.local_endpoint().port();
    net::co_spawn(
        impl_->io,
        accept_loop<net::any_io_executor>(
            impl_->acceptor, impl_->metrics.accept_errors, [impl = impl_.get()] { return net::make_strand(impl->io); },
            [impl = impl_.get()](tcp::socket socket) { impl->on_accept(std::move(socket)); }),
        net::detached);
    for (unsigned i = 0, n = worker_threads(rt->config.workers); i < n; ++i)
        impl_->threads.emplace_back([impl = impl_.get()] { impl->io.run(); });
    impl_->listening = true;
}

std::uint16_t AuthzServer::port() const { return impl_->port; }
bool AuthzServer::listening() const { return impl_->listening.load(); }

void AuthzServer::swap_runtime(std::shared_ptr<const Runtime> runtime) { impl_->runtime.swap(std::move(runtime)); }

bool AuthzServer::drain(std::chrono::steady_clock::time_point deadline) {
    impl_->listening = false;
    impl_->draining = true;
    close_acceptor(impl_->acceptor);
    impl_->idle.close_idle();
    return impl_->connections.wait_all_closed(deadline);
}

void AuthzServer::stop() {
    if (impl_->stopped) return;
    impl_->stopped = true;
    impl_->listening = false;
    impl_->io.stop();
    for (auto& t : impl_->threads)
        if (t.joinable()) t.join();
    impl_->threads.clear();
}

}  // namespace ig
