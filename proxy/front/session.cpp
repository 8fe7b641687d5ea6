#include "proxy/front/session.hpp"

#include "core/graph/bounded_parser.hpp"
#include "core/identity/cidr.hpp"
#include "core/identity/device_id.hpp"
#include "core/text/log.hpp"
#include "core/text/text.hpp"
#include "proxy/answer/access_log.hpp"
#include "proxy/answer/answer.hpp"
#include "proxy/answer/deny_page.hpp"
#include "proxy/answer/headers.hpp"
#include "proxy/front/relay.hpp"
#include "proxy/http/refusal.hpp"
#include "proxy/http/request_framing.hpp"
#include "proxy/http/request_id.hpp"
#include "proxy/http/response_framing.hpp"
#include "proxy/tls/tls_context.hpp"
#include "proxy/tls/tls_stream.hpp"

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

#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <nlohmann/json.hpp>

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
constexpr std::uint32_t upstream_header_limit = 64 * 1024;
constexpr std::size_t max_logged_path = 512;
constexpr std::size_t idle_buffer_capacity = 4096;
constexpr auto shutdown_timeout = std::chrono::seconds(1);  // for close_notify to go out

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

template <class Stream>
RelayEnd<Stream> end_of(Stream& s, clock_type::duration step_timeout, Side side) {
    return RelayEnd<Stream>{s, step_timeout, side};
}

// Only a request that cannot have been half-done can be sent twice: an idempotent method
// (RFC 9110 9.2.2) without a body. A POST, even with Content-Length: 0, is sent once.
bool may_send_twice(http::verb method, bool has_body) {
    const bool idempotent = method == http::verb::get || method == http::verb::head || method == http::verb::options ||
                            method == http::verb::trace || method == http::verb::put || method == http::verb::delete_;
    return idempotent && !has_body;
}

// The access record's error: "what: message" (or the message alone), on one line.
void note_error(AccessRecord& rec, std::string_view what, std::string_view detail) {
    rec.error = what.empty() ? std::string(detail) : std::string(what) + ": " + std::string(detail);
}
void note_error(AccessRecord& rec, std::string_view what, const error_code& ec) {
    note_error(rec, what, one_line(ec.message(), 200));
}

// What forward() knows of the client's request before its headers are rewritten.
struct ForwardRequest {
    unsigned client_version = 11;
    bool head = false;
    bool has_body = false;
    bool expect_continue = false;
    bool retryable = false;  // may_send_twice()
};

// How a forwarded request's exchange with the upstream ended before the response was relayed.
struct Exchange {
    error_code ec;
    Side side = Side::None;  // Client: reading the request (or the 100 Continue) failed
    std::string_view what;  // the step that failed, for the access record
};

}  // namespace

class Session {
public:
    Session(tcp::socket socket, std::shared_ptr<const Runtime> runtime, WorkerContext& worker)
        : rt_(std::move(runtime)),
          cfg_(rt_->config),
          w_(worker),
          stream_(std::move(socket), rt_->server_tls->native_handle()) {
        error_code ec;
        const auto peer = unmapped(lowest(stream_).socket().remote_endpoint(ec).address());
        client_address_ = ec ? std::string() : peer.to_string();
        if (!ec) peer_trusted_ = header_trusted_from(cfg_.device_id, peer);
        lowest(stream_).socket().set_option(tcp::no_delay(true), ec);
        w_.sessions.insert(this);
        unproven_at_ = w_.unproven.insert(w_.unproven.end(), this);
        unproven_ = true;
    }
    ~Session() {
        leave_handshaking();
        leave_unproven();
        w_.sessions.erase(this);
    }
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    net::awaitable<void> run();

    void close_if_idle() {
        closing_ = true;
        if (idle_) lowest(stream_).cancel();
    }

    void retire(std::uint64_t generation) {
        if (rt_->generation >= generation) return;
        if (handshaking_)
            retire_after_request_ = true;
        else
            close_if_idle();
    }

    // Not busy with a request: in the handshake or waiting for the first request (worker thread).
    bool evictable() const { return handshaking_ || idle_; }

    // Ends a connection that has not sent a complete request, to make room (worker thread).
    void evict() {
        if (!handshaking_) w_.metrics.idle_evicted.inc();  // a handshake counts its own eviction
        evicted_ = true;
        closing_ = true;
        leave_handshaking();
        leave_unproven();
        lowest(stream_).cancel();
    }

private:
    using Parser = BoundedRequestParser<http::buffer_body>;
    using ResponseParser = BoundedResponseParser<http::buffer_body>;

    TlsSocket& client_tcp() { return stream_; }
    bool keep_going() const { return !closing_ && !w_.draining.load(std::memory_order_relaxed); }

    // What each deadline bounds (config key in brackets). The client ones are set on the TLS stream,
    // the upstream one on the upstream connection, each before the operations it covers.
    // [limits.handshake_timeout_s] the TLS handshake.
    clock_type::duration handshake_deadline() const { return cfg_.limits.handshake_timeout; }
    // [limits.header_timeout_s] a request header from its first byte (a new connection's first
    // request: from the end of the handshake).
    clock_type::duration header_deadline() const { return cfg_.limits.header_timeout; }
    // [limits.idle_timeout_s] a kept-alive connection's wait for its next request.
    clock_type::duration keep_alive_wait() const { return cfg_.limits.idle_timeout; }
    // [limits.idle_timeout_s] each read of a request body and each write to the client (a
    // response, a piece of one, a 100 Continue): the client's silence, not the whole transfer.
    clock_type::duration client_step_timeout() const { return cfg_.limits.idle_timeout; }
    // [upstream.timeout_ms] the upstream connect, each write of the request and each read of the
    // response towards the upstream.
    clock_type::duration upstream_step_timeout() const { return cfg_.upstream.timeout; }

    net::awaitable<bool> handshake();
    net::awaitable<bool> serve_request(bool first);
    net::awaitable<Verdict> decide(const std::optional<std::string>& id, AccessRecord& rec);
    net::awaitable<bool> answer_locally(const AnswerPlan& plan, const Verdict& verdict,
                                        const http::request_header<>& req, AccessRecord& rec, bool keep);
    net::awaitable<bool> forward(Parser& parser, const AnswerPlan& plan, AccessRecord& rec);
    std::optional<std::string> prepare_forward(http::request_header<>& req, const Parser& parser, ForwardFacts facts);
    net::awaitable<Exchange> send_request(Parser& parser, const ForwardRequest& fr,
                                          std::unique_ptr<UpstreamConnection>& up, std::optional<ResponseParser>& rp,
                                          RelayBuffer& buf);
    net::awaitable<std::pair<error_code, std::size_t>> read_final_header(UpstreamConnection& up,
                                                                         std::optional<ResponseParser>& rp, bool head);
    net::awaitable<RelayResult> relay_response(UpstreamConnection& up, ResponseParser& rp,
                                               const ResponseFraming& framing, RelayBuffer& buf);
    net::awaitable<error_code> respond(unsigned status, std::string body, std::string_view request_id, bool keep_alive,
                                       std::string_view location = {});
    net::awaitable<error_code> respond(RejectReply reply, std::string_view request_id, bool keep_alive);
    net::awaitable<error_code> write_response(http::response<http::string_body>& res, bool keep_alive);
    net::awaitable<bool> refuse(unsigned status, std::string_view reason, AccessRecord& rec);
    net::awaitable<bool> refuse_unreadable(const error_code& ec, std::string_view what, AccessRecord& rec);
    net::awaitable<bool> upstream_failed(const error_code& ec, std::string_view what, AccessRecord& rec);
    HeaderClaim header_claim(const http::fields& req) const;

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
    bool retire_after_request_ = false;
    bool handshaking_ = false;
    std::list<Session*>::iterator handshaking_at_;
    bool unproven_ = false;
    std::list<Session*>::iterator unproven_at_;

    void leave_handshaking() {
        if (!handshaking_) return;
        w_.handshaking.erase(handshaking_at_);
        handshaking_ = false;
    }
    void leave_unproven() {
        if (!unproven_) return;
        w_.unproven.erase(unproven_at_);
        unproven_ = false;
    }
};

void close_if_idle(Session& session) { session.close_if_idle(); }

void retire_if_older(Session& session, std::uint64_t generation) { session.retire(generation); }

bool evict_oldest_unproven(WorkerContext& worker) {
    for (Session* s : worker.unproven)
        if (s->evictable()) {
            s->evict();
            return true;
        }
    return false;
}

bool evict_oldest_handshake(WorkerContext& worker) {
    if (worker.handshaking.empty()) return false;
    worker.handshaking.front()->evict();
    return true;
}

net::awaitable<void> serve_connection(tcp::socket socket, std::shared_ptr<const Runtime> runtime,
                                      WorkerContext& worker) {
    Session session(std::move(socket), std::move(runtime), worker);
    co_await session.run();
}

net::awaitable<void> Session::run() {
    if (!co_await handshake()) co_return;
    bool first = true;
    client_tcp().expires_after(header_deadline());
    while (keep_going()) {
        // Between requests only this frame waits: serve_request()'s (parser, record) exists only
        // once the next request has begun to arrive.
        if (buffer_.size() == 0) {
            buffer_.shrink_to_fit();  // empty: gives the whole buffer back while idle
            idle_ = true;
            // A new connection gets header_timeout for its whole first request header, a kept-alive
            // one idle_timeout to start its next request.
            if (!first) client_tcp().expires_after(keep_alive_wait());
            auto [ec] = co_await stream_.async_wait_readable(nothrow);
            idle_ = false;
            if (ec) break;
        }
        if (!co_await serve_request(first)) break;
        first = false;
        leave_unproven();
        if (retire_after_request_) closing_ = true;
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
    client_tcp().expires_after(handshake_deadline());
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
        log::info("tls handshake failed",
                  {{"client", client_address_},
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

HeaderClaim Session::header_claim(const http::fields& req) const {
    const auto& name = rt_->headers.device_header;
    HeaderClaim header{peer_trusted_, std::nullopt, name.empty() ? 0 : req.count(name)};
    if (header.count == 1) header.value = req[name];
    return header;
}

net::awaitable<error_code> Session::write_response(http::response<http::string_body>& res, bool keep_alive) {
    res.keep_alive(keep_alive);
    res.prepare_payload();
    client_tcp().expires_after(client_step_timeout());
    auto [ec, n] = co_await http::async_write(stream_, res, nothrow);
    co_return ec;
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
    co_return co_await write_response(res, keep_alive);
}

net::awaitable<error_code> Session::respond(RejectReply reply, std::string_view request_id, bool keep_alive) {
    http::response<http::string_body> res;
    res.version(11);
    res.result(reply.status);
    res.set(http::field::content_type, reply.content_type);
    for (const auto& [name, value] : reply.headers) res.set(name, value);
    res.set("X-Request-Id", request_id);
    res.body() = std::move(reply.body);
    co_return co_await write_response(res, keep_alive);
}

// Answers an error the gateway decided itself and closes the connection. The caller has noted
// the error in the access record.
net::awaitable<bool> Session::refuse(unsigned status, std::string_view reason, AccessRecord& rec) {
    rec.status = status;
    co_await respond(status, refusal_body(rec.request_id, reason, rec.outcome), rec.request_id, false);
    co_return false;
}

// A request (header or body) the client did not send readably: refused as refusal_for() says, or
// the connection just closes (the client left, went silent or stopped mid-message).
net::awaitable<bool> Session::refuse_unreadable(const error_code& ec, std::string_view what, AccessRecord& rec) {
    note_error(rec, what, ec);
    const auto refusal = refusal_for(ec);
    if (!refusal) co_return false;
    w_.metrics.rejected_requests.inc();
    co_return co_await refuse(refusal->status, refusal->reason, rec);
}

net::awaitable<bool> Session::upstream_failed(const error_code& ec, std::string_view what, AccessRecord& rec) {
    w_.metrics.upstream_errors.inc();
    note_error(rec, what, ec);
    co_return co_await refuse(is_timeout(ec) ? 504 : 502, is_timeout(ec) ? "upstream timeout" : "upstream unreachable",
                              rec);
}

net::awaitable<bool> Session::serve_request(bool first) {
    Parser parser;
    parser.header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(cfg_.limits.max_header_bytes, UINT32_MAX)));
    parser.body_limit(cfg_.limits.max_body_bytes);

    if (buffer_.size() == 0 && buffer_.capacity() > idle_buffer_capacity) buffer_.shrink_to_fit();
    idle_ = true;
    // The header must be complete within header_timeout of its first byte (of the handshake, for
    // the first request): a client sending it a byte at a time cannot hold the connection longer.
    if (!first) client_tcp().expires_after(header_deadline());
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
        if (!refusal_for(ec)) co_return false;  // closed, idle or cut off mid-header: nothing to log
        co_return finish(co_await refuse_unreadable(ec, {}, rec));
    }

    auto& req = parser.get();
    rec.method = sanitize_header_value(req.method_string().substr(0, 32));
    rec.path = path_of(req.target());
    // Anything the gateway and the upstream could frame or route differently is refused here.
    auto framing = check_request_framing(req);
    if (!framing.ok()) {
        w_.metrics.rejected_requests.inc();
        note_error(rec, {}, framing.error);
        co_return finish(co_await refuse(400, "bad request", rec));
    }
    if (framing.origin_target) req.target(*framing.origin_target);

    const auto claim = header_claim(req);
    if (header_claim_ambiguous(cfg_.device_id, claim)) {
        w_.metrics.rejected_requests.inc();
        note_error(rec, {}, "device_id.header repeated by a trusted peer");
        co_return finish(co_await refuse(400, "ambiguous device header", rec));
    }
    const auto id = request_device_id(cfg_.device_id, cert_id_, claim);
    const Verdict verdict = co_await decide(id, rec);
    const AnswerPlan plan = plan_answer(verdict, id, rec.request_id, cfg_, Dialect::Gateway);
    if (plan.action != Action::Forward) {
        // Without reading an unwanted body we cannot keep the connection.
        co_return finish(co_await answer_locally(plan, verdict, req, rec, client_keep_alive(parser, !keep_going())));
    }
    co_return finish(co_await forward(parser, plan, rec));
}

// The verdict for the device (or for its absence), noted in the access record and, unless the
// request is to be forwarded (counted once it really is), in the metrics.
net::awaitable<Verdict> Session::decide(const std::optional<std::string>& id, AccessRecord& rec) {
    Verdict verdict;
    if (!id) {
        verdict.outcome = Outcome::NoId;
        verdict.reason = has_cert_ ? "no valid device id in the client certificate" : "no client certificate";
    } else if (auto hit = w_.compliance.cached(*id)) {
        verdict = std::move(*hit);
    } else {
        verdict = co_await w_.compliance.async_lookup(*id, rec.request_id, net::use_awaitable);
    }
    const Action action = cfg_.action_for(verdict.outcome).action;
    if (action != Action::Forward) w_.metrics.count_request(verdict.outcome, action);
    rec.device_id = id.value_or(std::string());
    rec.outcome = std::string(to_string(verdict.outcome));
    rec.compliance_state = printable_ascii(verdict.compliance_state, 64);
    rec.action = std::string(to_string(action));
    rec.graph_ms = verdict.graph_ms;
    rec.cache_hit = verdict.cache_hit;
    if (verdict.outcome == Outcome::Error) note_error(rec, {}, one_line(verdict.reason, 300));
    co_return verdict;
}

// A reject or a redirect, answered by the gateway itself.
net::awaitable<bool> Session::answer_locally(const AnswerPlan& plan, const Verdict& verdict,
                                             const http::request_header<>& req, AccessRecord& rec, bool keep) {
    rec.status = plan.status;
    error_code ec;
    if (plan.action == Action::Reject) {
        auto reply = render_reject(cfg_.action_for(verdict.outcome), verdict, rec.request_id, req[http::field::accept]);
        reply.status = plan.status;
        ec = co_await respond(std::move(reply), rec.request_id, keep);
    } else {
        const auto location =
            redirect_location(plan.location, rec.request_id, original_url(req[http::field::host], req.target()));
        ec = co_await respond(plan.status, {}, rec.request_id, keep, sanitize_header_value(location));
    }
    co_return keep && !ec;
}

// Puts the forward headers on the request (the device facts, the client's own X-Intune-* and
// hop-by-hop fields gone). The reason when a header would be too large to send.
std::optional<std::string> Session::prepare_forward(http::request_header<>& req, const Parser& parser,
                                                    ForwardFacts facts) {
    req.erase(http::field::expect);
    facts.client_address = client_address_;
    facts.chunked = parser.chunked();
    if (auto n = parser.content_length()) facts.content_length = *n;
    try {
        strip_client_headers(req, rt_->headers);
        set_forward_headers(req, rt_->headers, facts);
    } catch (const std::length_error& e) {
        // A header value over Beast's per-field limit (64 KiB), e.g. the installed apps of a
        // device with very many: the upstream cannot get a faithful request.
        return std::string(e.what());
    }
    return std::nullopt;
}

net::awaitable<bool> Session::forward(Parser& parser, const AnswerPlan& plan, AccessRecord& rec) {
    auto& req = parser.get();
    ForwardRequest fr;
    fr.client_version = req.version();
    fr.head = req.method() == http::verb::head;
    fr.has_body = !parser.is_done();
    fr.expect_continue = beast::iequals(req[http::field::expect], "100-continue");
    fr.retryable = may_send_twice(req.method(), fr.has_body);
    const Outcome outcome = plan.facts.outcome;
    if (auto too_large = prepare_forward(req, parser, plan.facts)) {
        w_.metrics.count_request(outcome, Action::Reject);
        rec.action = std::string(to_string(Action::Reject));
        note_error(rec, "forward headers too large", *too_large);
        log::error("request not forwarded: a header is too large",
                   {{"request_id", rec.request_id}, {"device_id", rec.device_id}, {"error", *too_large}});
        co_return co_await refuse(502, "the forwarded request would be too large", rec);
    }
    w_.metrics.count_request(outcome, Action::Forward);
    req.version(11);

    RelayBuffer relay_buf(w_.spare_buffers);
    std::unique_ptr<UpstreamConnection> up;
    std::optional<ResponseParser> rp;
    const Exchange sent = co_await send_request(parser, fr, up, rp, relay_buf);
    if (sent.side == Side::Client) {
        if (sent.what.empty()) co_return false;  // the 100 Continue could not be written
        co_return co_await refuse_unreadable(sent.ec, sent.what, rec);
    }
    if (sent.ec) co_return co_await upstream_failed(sent.ec, sent.what, rec);

    auto& res = rp->get();
    const unsigned status = res.result_int();
    rec.upstream_status = status;
    // The client must frame the response as the gateway's parser did: one field each at most.
    if (auto bad = check_response_framing(res); !bad.empty()) {
        w_.metrics.upstream_errors.inc();
        note_error(rec, "upstream response", bad);
        co_return co_await refuse(502, "upstream answered with a malformed response", rec);
    }
    rec.status = status;
    strip_hop_by_hop(res);
    const auto framing =
        frame_response(upstream_response(*rp), {fr.client_version, fr.head, client_keep_alive(parser, !keep_going())});
    apply_framing(res, framing);

    const RelayResult back = co_await relay_response(*up, *rp, framing, relay_buf);
    if (back.ec) {
        if (back.side == Side::Upstream) {
            w_.metrics.upstream_errors.inc();
            note_error(rec, "upstream read", back.ec);
        }
        co_return false;
    }
    if (rp->is_done() && rp->keep_alive() && status != 101) {
        up->tcp().expires_never();
        w_.pool.give_back(std::move(up));
    }
    co_return framing.keep_alive;
}

// Sends the request (its body relayed from the client) and reads the upstream's final response
// header into rp. A request that may be sent twice is sent again on a new connection when a
// pooled one turns out to have been closed by the upstream.
net::awaitable<Exchange> Session::send_request(Parser& parser, const ForwardRequest& fr,
                                               std::unique_ptr<UpstreamConnection>& up,
                                               std::optional<ResponseParser>& rp, RelayBuffer& buf) {
    bool sent_continue = false;
    for (int attempt = 0;; ++attempt) {
        const bool may_retry = attempt == 0 && fr.retryable;
        up = attempt == 0 ? w_.pool.take(*rt_, fr.retryable) : nullptr;
        if (!up) {
            up = std::make_unique<UpstreamConnection>(stream_.get_executor(), *rt_);
            if (auto ec = co_await connect_upstream(*up, *rt_))
                co_return Exchange{ec, Side::Upstream, "upstream connect"};
        }
        if (fr.expect_continue && fr.has_body && !sent_continue) {
            sent_continue = true;
            static constexpr std::string_view cont = "HTTP/1.1 100 Continue\r\n\r\n";
            client_tcp().expires_after(client_step_timeout());
            auto [ec, n] = co_await net::async_write(stream_, net::buffer(cont.data(), cont.size()), nothrow);
            if (ec) co_return Exchange{ec, Side::Client, {}};
        }
        auto sent = co_await with_upstream(*up, [&](auto& s) {
            return relay_message<true>(end_of(stream_, client_step_timeout(), Side::Client), buffer_, parser,
                                       end_of(s, upstream_step_timeout(), Side::Upstream), buf.get(),
                                       RelayBuffer::size);
        });
        if (sent.ec && sent.side == Side::Client) co_return Exchange{sent.ec, Side::Client, "client"};
        if (sent.ec) {
            if (up->reused && may_retry && !is_timeout(sent.ec)) continue;
            co_return Exchange{sent.ec, Side::Upstream, "upstream write"};
        }
        auto [ec, got] = co_await read_final_header(*up, rp, fr.head);
        if (ec) {
            if (up->reused && may_retry && !is_timeout(ec) && got == 0) continue;
            co_return Exchange{ec, Side::Upstream, "upstream read"};
        }
        co_return Exchange{};
    }
}

// Reads response headers until the final one: interim 1xx answers are dropped (101 is final).
// Also the bytes read, so that a connection that closed before answering can be told apart.
net::awaitable<std::pair<error_code, std::size_t>> Session::read_final_header(UpstreamConnection& up,
                                                                              std::optional<ResponseParser>& rp,
                                                                              bool head) {
    std::size_t got = 0;
    for (;;) {
        rp.emplace();
        rp->header_limit(upstream_header_limit);
        rp->body_limit(boost::none);
        if (head) rp->skip(true);
        up.tcp().expires_after(upstream_step_timeout());
        auto [ec, n] =
            co_await with_upstream(up, [&](auto& s) { return http::async_read_header(s, up.buffer, *rp, nothrow); });
        got += n;
        const unsigned status = ec ? 0 : rp->get().result_int();
        if (ec || status / 100 != 1 || status == 101) co_return std::pair{ec, got};
    }
}

// Sends the response header (framed for the client) and relays the body as framed.
net::awaitable<RelayResult> Session::relay_response(UpstreamConnection& up, ResponseParser& rp,
                                                    const ResponseFraming& framing, RelayBuffer& buf) {
    if (framing.body == ResponseFraming::Body::None) {
        http::serializer<false, http::buffer_body> sr{rp.get()};
        client_tcp().expires_after(client_step_timeout());
        auto [ec, n] = co_await http::async_write_header(stream_, sr, nothrow);
        co_return RelayResult{ec, ec ? Side::Client : Side::None};
    }
    co_return co_await with_upstream(up, [&](auto& s) {
        return relay_message<false>(end_of(s, upstream_step_timeout(), Side::Upstream), up.buffer, rp,
                                    end_of(stream_, client_step_timeout(), Side::Client), buf.get(), RelayBuffer::size);
    });
}

}  // namespace ig
