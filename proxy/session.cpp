#include "proxy/session.hpp"

#include "core/device_id.hpp"
#include "core/log.hpp"
#include "core/text.hpp"
#include "proxy/access_log.hpp"
#include "proxy/answer.hpp"
#include "proxy/deny_page.hpp"
#include "proxy/headers.hpp"
#include "proxy/peer_match.hpp"
#include "proxy/request_id.hpp"
#include "proxy/request_framing.hpp"
#include "proxy/tls_context.hpp"
#include "proxy/tls_stream.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/async_base.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <nlohmann/json.hpp>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <chrono>
#include <list>
#include <random>

namespace ig {
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;
using clock_type = std::chrono::steady_clock;

namespace {

constexpr auto nothrow = net::as_tuple(net::use_awaitable);
constexpr std::size_t relay_buffer_size = 32 * 1024;
constexpr std::uint32_t upstream_header_limit = 64 * 1024;
constexpr std::size_t max_logged_path = 512;
constexpr std::size_t idle_buffer_capacity = 4096;
constexpr auto shutdown_timeout = std::chrono::seconds(1);  // for close_notify to go out

enum class Side { None, Client, Upstream };

struct RelayResult {
    error_code ec;
    Side side = Side::None;
};

const boost::system::error_category& http_category() {
    return http::make_error_code(http::error::bad_target).category();
}

// The status for a request the gateway refuses before any decision; 0 = just close.
unsigned parse_error_status(const error_code& ec) {
    if (ec == http::error::header_limit) return 431;
    if (ec == http::error::body_limit) return 413;
    if (ec.category() != http_category()) return 0;
    if (ec == http::error::end_of_stream || ec == http::error::partial_message || ec == http::error::need_buffer)
        return 0;
    return 400;
}

bool is_timeout(const error_code& ec) { return ec == beast::error::timeout; }

// True unless the peer's certificate is outside its validity period now.
bool peer_certificate_current(SSL* ssl) {
    X509* cert = SSL_get0_peer_certificate(ssl);
    if (!cert) return true;
    return X509_cmp_current_time(X509_get0_notBefore(cert)) < 0 && X509_cmp_current_time(X509_get0_notAfter(cert)) > 0;
}

std::string path_of(std::string_view target) {
    target = target.substr(0, target.find('?'));
    return sanitize_header_value(target.substr(0, max_logged_path));
}

template <class Stream>
auto& lowest(Stream& s) {
    return beast::get_lowest_layer(s);
}

// A message complete with its header (no body, or a HEAD answer): nothing to read and, without a
// chunked body, no trailer to keep out, so the parser's own message is written without a copy.
template <bool isRequest, class Out>
net::awaitable<RelayResult> relay_header_only(http::parser<isRequest, http::buffer_body>& p, Out& out,
                                              clock_type::duration out_timeout, Side out_side) {
    auto& msg = p.get();
    msg.body().data = nullptr;
    msg.body().size = 0;
    msg.body().more = false;
    http::serializer<isRequest, http::buffer_body> sr{msg};
    lowest(out).expires_after(out_timeout);
    auto [ec, n] = co_await http::async_write(out, sr, nothrow);
    if (ec == http::error::need_buffer) ec = {};
    co_return ec ? RelayResult{ec, out_side} : RelayResult{};
}

// Moves one message from `in` to `out` piece by piece (Beast's relay example, asynchronous).
// p's header must be read and the message ready to serialise. The header goes out with the first
// piece of the body in one write (one TLS record, one syscall for a small message).
// What is serialised is a copy of p's header taken here: Beast merges the fields of a chunked
// trailer into p's header, and when the body is only the last chunk that happens before the first
// write. Trailers are thus dropped, never sent on as header fields.
template <bool isRequest, class In, class Out>
net::awaitable<RelayResult> relay_message(In& in, beast::flat_buffer& in_buffer, http::parser<isRequest, http::buffer_body>& p,
                                          Out& out, clock_type::duration in_timeout, clock_type::duration out_timeout,
                                          Side in_side, Side out_side, char* buf, std::size_t buf_size) {
    if (p.is_done()) co_return co_await relay_header_only(p, out, out_timeout, out_side);
    auto& in_body = p.get().body();
    http::message<isRequest, http::buffer_body> msg{p.get().base()};
    auto& body = msg.body();
    body.data = nullptr;
    body.size = 0;
    body.more = !p.is_done();
    http::serializer<isRequest, http::buffer_body> sr{msg};
    while (!sr.is_done()) {
        if (!p.is_done()) {
            in_body.data = buf;
            in_body.size = buf_size;
            lowest(in).expires_after(in_timeout);
            auto [ec, n] = co_await http::async_read_some(in, in_buffer, p, nothrow);
            if (ec == http::error::need_buffer) ec = {};
            if (ec) co_return RelayResult{ec, in_side};
            body.size = buf_size - in_body.size;
            body.data = body.size ? buf : nullptr;
            body.more = !p.is_done();
        } else {
            body.data = nullptr;
            body.size = 0;
            body.more = false;
        }
        lowest(out).expires_after(out_timeout);
        auto [ec, n] = co_await http::async_write(out, sr, nothrow);
        if (ec == http::error::need_buffer) ec = {};
        if (ec) co_return RelayResult{ec, out_side};
    }
    co_return RelayResult{};
}

// A relay buffer lent from the worker for the duration of one forwarded request.
class RelayBuffer {
public:
    explicit RelayBuffer(WorkerContext& w) : w_(w) {
        if (w_.spare_buffers.empty()) {
            buf_ = std::make_unique<char[]>(relay_buffer_size);
        } else {
            buf_ = std::move(w_.spare_buffers.back());
            w_.spare_buffers.pop_back();
        }
    }
    ~RelayBuffer() {
        if (w_.spare_buffers.size() < max_spare_buffers) w_.spare_buffers.push_back(std::move(buf_));
    }
    RelayBuffer(const RelayBuffer&) = delete;
    RelayBuffer& operator=(const RelayBuffer&) = delete;
    char* get() const { return buf_.get(); }

private:
    static constexpr std::size_t max_spare_buffers = 64;
    WorkerContext& w_;
    std::unique_ptr<char[]> buf_;
};

}  // namespace

class Session {
public:
    Session(tcp::socket socket, std::shared_ptr<const Runtime> runtime, WorkerContext& worker)
        : rt_(std::move(runtime)), cfg_(rt_->config), w_(worker), stream_(std::move(socket), rt_->server_tls->native_handle()) {
        error_code ec;
        auto peer = lowest(stream_).socket().remote_endpoint(ec).address();
        if (peer.is_v6() && peer.to_v6().is_v4_mapped()) peer = net::ip::make_address_v4(net::ip::v4_mapped, peer.to_v6());
        client_address_ = ec ? std::string() : peer.to_string();
        if (!ec) peer_trusted_ = peer_in(peer, cfg_.device_id.trusted_peers);
        lowest(stream_).socket().set_option(tcp::no_delay(true), ec);
        w_.sessions.insert(this);
    }
    ~Session() {
        leave_handshaking();
        w_.sessions.erase(this);
    }
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    net::awaitable<void> run();

    void close_if_idle() {
        closing_ = true;
        if (idle_) lowest(stream_).cancel();
    }

    // Ends a connection that has not finished its TLS handshake, to make room (worker thread).
    void evict() {
        evicted_ = true;
        leave_handshaking();
        lowest(stream_).cancel();
    }

private:
    using Parser = http::request_parser<http::buffer_body>;

    TlsSocket& client_tcp() { return stream_; }
    bool keep_going() const { return !closing_ && !w_.draining.load(std::memory_order_relaxed); }

    net::awaitable<bool> handshake();
    net::awaitable<bool> serve_request(bool first);
    net::awaitable<bool> forward(Parser& parser, const Verdict& verdict, const std::optional<std::string>& id,
                                 AccessRecord& rec, bool client_keep_alive);
    net::awaitable<error_code> respond(unsigned status, std::string body, std::string_view request_id, bool keep_alive,
                                       std::string_view location = {});
    net::awaitable<error_code> respond(RejectReply reply, std::string_view request_id, bool keep_alive);
    net::awaitable<bool> refuse(unsigned status, std::string reason, AccessRecord& rec);
    std::optional<std::string> device_id_for(const http::fields& req) const;

    template <class F>
    auto with_upstream(UpstreamConnection& up, F&& f) {
        return up.tls ? f(*up.tls) : f(*up.plain);
    }

    std::shared_ptr<const Runtime> rt_;
    const Config& cfg_;
    WorkerContext& w_;
    TlsSocket stream_;
    beast::flat_buffer buffer_;
    std::string client_address_;
    bool peer_trusted_ = false;
    bool has_cert_ = false;
    std::optional<std::string> cert_id_;
    bool idle_ = false;
    bool closing_ = false;
    bool evicted_ = false;
    bool handshaking_ = false;
    std::list<Session*>::iterator handshaking_at_;

    void leave_handshaking() {
        if (!handshaking_) return;
        w_.handshaking.erase(handshaking_at_);
        handshaking_ = false;
    }
};

void close_if_idle(Session& session) { session.close_if_idle(); }

bool evict_oldest_handshake(WorkerContext& worker) {
    if (worker.handshaking.empty()) return false;
    worker.handshaking.front()->evict();
    return true;
}

net::awaitable<void> serve_connection(tcp::socket socket, std::shared_ptr<const Runtime> runtime, WorkerContext& worker) {
    Session session(std::move(socket), std::move(runtime), worker);
    co_await session.run();
}

net::awaitable<void> Session::run() {
    if (!co_await handshake()) co_return;
    bool first = true;
    client_tcp().expires_after(cfg_.limits.header_timeout);
    while (keep_going()) {
        // Between requests only this frame waits: serve_request()'s (parser, record) exists only
        // once the next request has begun to arrive.
        if (buffer_.size() == 0) {
            buffer_.shrink_to_fit();  // empty: gives the whole buffer back while idle
            idle_ = true;
            // A new connection gets header_timeout for its whole first request header, a kept-alive
            // one idle_timeout to start its next request.
            if (!first) client_tcp().expires_after(cfg_.limits.idle_timeout);
            auto [ec] = co_await stream_.async_wait_readable(nothrow);
            idle_ = false;
            if (ec) break;
        }
        if (!co_await serve_request(first)) break;
        first = false;
    }
    client_tcp().expires_after(shutdown_timeout);
    co_await stream_.async_shutdown(nothrow);
    error_code ec;
    client_tcp().socket().shutdown(tcp::socket::shutdown_both, ec);
}

net::awaitable<bool> Session::handshake() {
    // Connections still in their handshake share a budget per worker; over it, the oldest one
    // goes, so a flood of silent connections cannot keep clients that do complete from starting.
    const std::size_t budget =
        std::max<std::size_t>(1, cfg_.limits.max_pending_handshakes / std::max<std::size_t>(1, w_.worker_count));
    handshaking_at_ = w_.handshaking.insert(w_.handshaking.end(), this);
    handshaking_ = true;
    if (w_.handshaking.size() > budget) evict_oldest_handshake(w_);
    client_tcp().expires_after(cfg_.limits.handshake_timeout);
    auto [ec] = co_await stream_.async_handshake(nothrow);
    leave_handshaking();
    if (evicted_) {
        w_.metrics.handshakes_evicted.inc();
        co_return false;
    }
    if (ec) {
        const auto reason = classify_handshake_failure(stream_.native_handle(), ec);
        w_.metrics.handshake_failures[static_cast<std::size_t>(reason)].inc();
        log::info("tls handshake failed", {{"client", client_address_},
                                           {"reason", handshake_failure_names[static_cast<std::size_t>(reason)]},
                                           {"error", one_line(ec.message(), 200)}});
        co_return false;
    }
    if (SSL_session_reused(stream_.native_handle()) && !peer_certificate_current(stream_.native_handle())) {
        // A resumed session skips certificate verification: a certificate that has expired since
        // the session began would otherwise keep working for the session's lifetime.
        w_.metrics.handshake_failures[static_cast<std::size_t>(HandshakeFailure::Expired)].inc();
        log::info("tls handshake failed", {{"client", client_address_},
                                           {"reason", handshake_failure_names[static_cast<std::size_t>(HandshakeFailure::Expired)]},
                                           {"error", "resumed session of a certificate outside its validity period"}});
        co_return false;
    }
    w_.metrics.handshakes.inc();
    if (X509* cert = SSL_get0_peer_certificate(stream_.native_handle())) {
        has_cert_ = true;
        cert_id_ = device_id_from_certificate(cert, cfg_.device_id);
    }
    co_return true;
}

std::optional<std::string> Session::device_id_for(const http::fields& req) const {
    for (const IdSource source : cfg_.device_id.sources) {
        if (source != IdSource::Header) {
            if (cert_id_) return cert_id_;
            continue;
        }
        const auto& name = rt_->headers.device_header;
        if (!peer_trusted_ || name.empty() || req.count(name) != 1) continue;
        if (auto id = normalize_guid(req[name])) return id;
    }
    return std::nullopt;
}

net::awaitable<error_code> Session::respond(unsigned status, std::string body, std::string_view request_id,
                                            bool keep_alive, std::string_view location) {
    http::response<http::string_body> res;
    res.version(11);
    res.result(status);
    if (!body.empty()) res.set(http::field::content_type, "application/json");
    res.set("X-Request-Id", request_id);
    if (!location.empty()) res.set(http::field::location, location);
    res.body() = std::move(body);
    res.keep_alive(keep_alive);
    res.prepare_payload();
    client_tcp().expires_after(cfg_.limits.idle_timeout);
    auto [ec, n] = co_await http::async_write(stream_, res, nothrow);
    co_return ec;
}

net::awaitable<error_code> Session::respond(RejectReply reply, std::string_view request_id, bool keep_alive) {
    http::response<http::string_body> res;
    res.version(11);
    res.result(reply.status);
    res.set(http::field::content_type, reply.content_type);
    for (const auto& [name, value] : reply.headers) res.set(name, value);
    res.set("X-Request-Id", request_id);
    res.body() = std::move(reply.body);
    res.keep_alive(keep_alive);
    res.prepare_payload();
    client_tcp().expires_after(cfg_.limits.idle_timeout);
    auto [ec, n] = co_await http::async_write(stream_, res, nothrow);
    co_return ec;
}

// Answers an error the gateway decided itself and closes the connection.
net::awaitable<bool> Session::refuse(unsigned status, std::string reason, AccessRecord& rec) {
    nlohmann::json body = {{"request_id", rec.request_id}, {"reason", reason}};
    if (!rec.outcome.empty()) body["outcome"] = rec.outcome;
    rec.status = status;
    if (rec.error.empty()) rec.error = reason;
    co_await respond(status, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), rec.request_id, false);
    co_return false;
}

net::awaitable<bool> Session::serve_request(bool first) {
    Parser parser;
    parser.header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(cfg_.limits.max_header_bytes, UINT32_MAX)));
    parser.body_limit(cfg_.limits.max_body_bytes);

    if (buffer_.size() == 0 && buffer_.capacity() > idle_buffer_capacity) buffer_.shrink_to_fit();
    idle_ = true;
    // The header must be complete within header_timeout of its first byte (of the handshake, for
    // the first request): a client sending it a byte at a time cannot hold the connection longer.
    if (!first) client_tcp().expires_after(cfg_.limits.header_timeout);
    auto [ec, n] = co_await http::async_read_header(stream_, buffer_, parser, nothrow);
    idle_ = false;
    if (closing_ && ec) co_return false;

    const auto start = clock_type::now();
    AccessRecord rec;
    rec.request_id = new_request_id();
    rec.client_address = client_address_;
    auto finish = [&](bool keep) {
        rec.latency_ms = std::chrono::duration<double, std::milli>(clock_type::now() - start).count();
        log_access(rec);
        return keep;
    };

    if (ec) {
        const unsigned status = parse_error_status(ec);
        if (!status) co_return false;
        w_.metrics.rejected_requests.inc();
        co_await refuse(status, status == 431 ? "request header too large" : status == 413 ? "request body too large"
                                                                                          : "bad request",
                        rec);
        rec.error = one_line(ec.message(), 200);
        co_return finish(false);
    }

    auto& req = parser.get();
    rec.method = sanitize_header_value(req.method_string().substr(0, 32));
    rec.path = path_of(req.target());
    // Anything the gateway and the upstream could frame or route differently is refused here.
    auto framing = check_request_framing(req);
    if (!framing.ok()) {
        w_.metrics.rejected_requests.inc();
        co_await refuse(400, "bad request", rec);
        rec.error = std::string(framing.error);
        co_return finish(false);
    }
    if (framing.origin_target) req.target(*framing.origin_target);
    // The parser reads every Connection field (the message's keep_alive() only the first).
    const bool client_keep_alive = parser.keep_alive();

    const auto id = device_id_for(req);
    Verdict verdict;
    if (!id) {
        verdict.outcome = Outcome::NoId;
        verdict.reason = has_cert_ ? "no valid device id in the client certificate" : "no client certificate";
    } else if (auto hit = w_.compliance.cached(*id)) {
        verdict = std::move(*hit);
    } else {
        verdict = co_await w_.compliance.async_check(*id, rec.request_id, net::use_awaitable);
    }

    const OutcomeAction& action = cfg_.action_for(verdict.outcome);
    // A forward is counted once it is really sent on (forward()).
    if (action.action != Action::Forward) w_.metrics.count_request(verdict.outcome, action.action);
    rec.device_id = id.value_or(std::string());
    rec.outcome = std::string(to_string(verdict.outcome));
    rec.compliance_state = printable_ascii(verdict.compliance_state, 64);
    rec.action = std::string(to_string(action.action));
    rec.graph_ms = verdict.graph_ms;
    rec.cache_hit = verdict.cache_hit;
    if (verdict.outcome == Outcome::Error) rec.error = one_line(verdict.reason, 300);

    // Without reading an unwanted body we cannot keep the connection.
    const bool keep = client_keep_alive && parser.is_done() && keep_going();
    const AnswerPlan plan = plan_answer(verdict, id, rec.request_id, cfg_, Dialect::Gateway);
    switch (plan.action) {
    case Action::Reject: {
        auto reply = render_reject(cfg_.action_for(verdict.outcome), verdict, rec.request_id, req[http::field::accept]);
        reply.status = plan.status;
        rec.status = plan.status;
        auto wec = co_await respond(std::move(reply), rec.request_id, keep);
        co_return finish(keep && !wec);
    }
    case Action::Redirect: {
        rec.status = plan.status;
        const auto location = redirect_location(plan.location, rec.request_id,
                                                original_url(req[http::field::host], req.target()));
        auto wec = co_await respond(plan.status, {}, rec.request_id, keep, sanitize_header_value(location));
        co_return finish(keep && !wec);
    }
    case Action::Forward:
        break;
    }
    const bool again = co_await forward(parser, verdict, id, rec, client_keep_alive);
    co_return finish(again);
}

net::awaitable<bool> Session::forward(Parser& parser, const Verdict& verdict, const std::optional<std::string>& id,
                                      AccessRecord& rec, bool client_keep_alive) {
    auto& req = parser.get();
    const unsigned client_version = req.version();
    const bool head = req.method() == http::verb::head;
    const bool expect_continue = beast::iequals(req[http::field::expect], "100-continue");
    const bool has_body = !parser.is_done();
    // Only a request that cannot have been half-done can be sent twice: an idempotent method
    // (RFC 9110 9.2.2) without a body. A POST, even with Content-Length: 0, is sent once.
    const auto method = req.method();
    const bool idempotent = method == http::verb::get || method == http::verb::head || method == http::verb::options ||
                            method == http::verb::trace || method == http::verb::put || method == http::verb::delete_;
    const bool retryable = idempotent && !has_body;
    req.erase(http::field::expect);
    ForwardFacts facts;
    facts.outcome = verdict.outcome;
    facts.device_id = id ? &*id : nullptr;
    facts.verdict = verdict.outcome == Outcome::NoId ? nullptr : &verdict;
    facts.request_id = rec.request_id;
    facts.client_address = client_address_;
    facts.chunked = parser.chunked();
    if (auto n = parser.content_length()) facts.content_length = *n;
    std::optional<std::string> too_large;
    try {
        strip_client_headers(req, rt_->headers);
        set_forward_headers(req, rt_->headers, facts);
    } catch (const std::length_error& e) {
        // A header value over Beast's per-field limit (64 KiB), e.g. the installed apps of a
        // device with very many: the upstream cannot get a faithful request.
        too_large = e.what();
    }
    if (too_large) {
        w_.metrics.count_request(verdict.outcome, Action::Reject);
        rec.action = std::string(to_string(Action::Reject));
        rec.error = "forward headers too large: " + *too_large;
        log::error("request not forwarded: a header is too large",
                   {{"request_id", rec.request_id}, {"device_id", rec.device_id}, {"error", *too_large}});
        co_return co_await refuse(502, "the forwarded request would be too large", rec);
    }
    w_.metrics.count_request(verdict.outcome, Action::Forward);
    req.version(11);

    RelayBuffer relay_buf(w_);
    const auto up_timeout = cfg_.upstream.timeout;
    const auto client_timeout = cfg_.limits.idle_timeout;
    auto upstream_failed = [&](const error_code& ec, std::string what) -> net::awaitable<bool> {
        w_.metrics.upstream_errors.inc();
        rec.error = what + ": " + one_line(ec.message(), 200);
        co_return co_await refuse(is_timeout(ec) ? 504 : 502, is_timeout(ec) ? "upstream timeout" : "upstream unreachable", rec);
    };

    std::unique_ptr<UpstreamConnection> up;
    std::optional<http::response_parser<http::buffer_body>> rp;
    bool sent_continue = false;
    for (int attempt = 0;; ++attempt) {
        // A request without a body can be sent again when a reused connection turns out dead.
        const bool may_retry = attempt == 0 && retryable;
        up = attempt == 0 ? w_.pool.take(*rt_) : nullptr;
        if (!up) {
            up = std::make_unique<UpstreamConnection>(stream_.get_executor(), *rt_);
            if (auto ec = co_await connect_upstream(*up, *rt_)) co_return co_await upstream_failed(ec, "upstream connect");
        }
        if (expect_continue && has_body && !sent_continue) {
            sent_continue = true;
            static constexpr std::string_view cont = "HTTP/1.1 100 Continue\r\n\r\n";
            client_tcp().expires_after(client_timeout);
            auto [ec, n] = co_await net::async_write(stream_, net::buffer(cont.data(), cont.size()), nothrow);
            if (ec) co_return false;
        }
        auto sent = co_await with_upstream(*up, [&](auto& s) {
            return relay_message<true>(stream_, buffer_, parser, s, client_timeout, up_timeout, Side::Client, Side::Upstream,
                                       relay_buf.get(), relay_buffer_size);
        });
        if (sent.ec && sent.side == Side::Client) {
            const unsigned status = parse_error_status(sent.ec);
            rec.error = "client: " + one_line(sent.ec.message(), 200);
            if (!status) co_return false;
            w_.metrics.rejected_requests.inc();
            co_return co_await refuse(status, status == 413 ? "request body too large" : "bad request", rec);
        }
        if (sent.ec) {
            if (up->reused && may_retry && !is_timeout(sent.ec)) continue;
            co_return co_await upstream_failed(sent.ec, "upstream write");
        }
        // Interim 1xx answers are dropped; the client gets the final one.
        error_code ec;
        std::size_t got = 0;
        for (;;) {
            rp.emplace();
            rp->header_limit(upstream_header_limit);
            rp->body_limit(boost::none);
            if (head) rp->skip(true);
            up->tcp().expires_after(up_timeout);
            auto [rec_ec, n] = co_await with_upstream(
                *up, [&](auto& s) { return http::async_read_header(s, up->buffer, *rp, nothrow); });
            ec = rec_ec;
            got += n;
            if (ec || rp->get().result_int() / 100 != 1 || rp->get().result_int() == 101) break;
        }
        if (ec) {
            if (up->reused && may_retry && !is_timeout(ec) && got == 0) continue;
            co_return co_await upstream_failed(ec, "upstream read");
        }
        break;
    }

    auto& res = rp->get();
    const unsigned status = res.result_int();
    rec.upstream_status = status;
    // The client must frame the response as the gateway's parser did: one field each at most.
    if (auto bad = check_response_framing(res); !bad.empty()) {
        w_.metrics.upstream_errors.inc();
        rec.error = "upstream response: " + std::string(bad);
        co_return co_await refuse(502, "upstream answered with a malformed response", rec);
    }
    rec.status = status;
    strip_hop_by_hop(res);
    const bool header_only = head || status == 204 || status == 304 || status / 100 == 1;
    bool keep = client_keep_alive && keep_going() && status != 101;
    if (!header_only && !res.chunked() && !res.has_content_length() && !rp->is_done()) {
        // Delimited by the upstream closing: re-frame as chunked for HTTP/1.1 clients.
        if (client_version == 11) res.chunked(true);
        else keep = false;
    } else if (!header_only && res.chunked() && client_version != 11) {
        res.chunked(false);
        keep = false;
    }
    res.version(client_version == 10 ? 10 : 11);
    res.keep_alive(keep);

    RelayResult back;
    if (header_only) {
        http::serializer<false, http::buffer_body> sr{res};
        client_tcp().expires_after(client_timeout);
        auto [wec, n] = co_await http::async_write_header(stream_, sr, nothrow);
        back = {wec, Side::Client};
        if (!wec) back.side = Side::None;
    } else {
        back = co_await with_upstream(*up, [&](auto& s) {
            return relay_message<false>(s, up->buffer, *rp, stream_, up_timeout, client_timeout, Side::Upstream, Side::Client,
                                        relay_buf.get(), relay_buffer_size);
        });
    }
    if (back.ec) {
        if (back.side == Side::Upstream) {
            w_.metrics.upstream_errors.inc();
            rec.error = "upstream read: " + one_line(back.ec.message(), 200);
        }
        co_return false;
    }
    if (rp->is_done() && rp->keep_alive() && status != 101) {
        up->tcp().expires_never();
        w_.pool.give_back(std::move(up));
    }
    co_return keep;
}

}  // namespace ig
