#include "proxy/front/session.hpp"

#include "core/identity/cidr.hpp"
#include "core/identity/device_id.hpp"
#include "core/text/log.hpp"
#include "core/text/text.hpp"
#include "proxy/answer/access_log.hpp"
#include "proxy/answer/answer.hpp"
#include "proxy/answer/headers.hpp"
#include "proxy/answer/policy_answer.hpp"
#include "proxy/answer/recheck.hpp"
#include "proxy/answer/verdict_lookup.hpp"
#include "proxy/front/upstream_exchange.hpp"
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

constexpr auto nothrow = nothrow_on<WorkerExecutor>;
constexpr std::size_t max_logged_path = 512;
constexpr std::size_t idle_buffer_capacity = 4096;
constexpr auto shutdown_timeout = std::chrono::seconds(1);  // for close_notify to go out

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

// The access record's error: "what: message" (or the message alone), on one line.
void note_error(AccessRecord& rec, std::string_view what, std::string_view detail) {
    rec.error = what.empty() ? std::string(detail) : std::string(what) + ": " + std::string(detail);
}
void note_error(AccessRecord& rec, std::string_view what, const error_code& ec) {
    note_error(rec, what, one_line(ec.message(), 200));
}

}  // namespace

class Session {
public:
    Session(WorkerSocket socket, std::shared_ptr<const Runtime> runtime, WorkerContext& worker)
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

    WorkerTask<void> run();

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
    using Parser = RequestParser;

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

    WorkerTask<bool> handshake();
    WorkerTask<bool> serve_request(bool first);
    WorkerTask<bool> answer_locally(Answer answer, AccessRecord& rec, bool keep);
    WorkerTask<bool> answer_recheck(Parser& parser, const std::optional<std::string>& id, AccessRecord& rec);
    WorkerTask<std::optional<std::string>> read_small_body(Parser& parser, std::size_t max);
    WorkerTask<bool> forward(Parser& parser, const Answer& answer, AccessRecord& rec);
    std::optional<std::string> prepare_forward(http::request_header<ArenaFields>& req, const Parser& parser,
                                               ForwardFacts facts);
    WorkerTask<Exchange> send_request(Parser& parser, const ForwardRequest& fr, std::unique_ptr<UpstreamConnection>& up,
                                      std::optional<ResponseParser>& rp, RelayBuffer& buf);
    WorkerTask<error_code> respond(unsigned status, std::string body, std::string_view request_id, bool keep_alive);
    WorkerTask<error_code> write_response(http::response<http::string_body>& res, bool keep_alive);
    WorkerTask<bool> refuse(unsigned status, std::string_view reason, AccessRecord& rec);
    WorkerTask<bool> refuse_unreadable(const error_code& ec, std::string_view what, AccessRecord& rec);
    WorkerTask<bool> upstream_failed(const error_code& ec, std::string_view what, AccessRecord& rec);
    HeaderClaim header_claim(const ArenaFields& req) const;

    ExchangeEnd<TlsSocket> client_end() { return {stream_, buffer_, client_step_timeout()}; }
    // Calls f with the upstream connection's end of the exchange (its stream is plain or TLS).
    template <class F>
    auto with_upstream(UpstreamConnection& up, F&& f) {
        return up.tls ? f(ExchangeEnd<UpstreamConnection::TlsStream>{*up.tls, up.buffer, upstream_step_timeout()})
                      : f(ExchangeEnd<WorkerTcpStream>{*up.plain, up.buffer, upstream_step_timeout()});
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

WorkerTask<void> serve_connection(WorkerSocket socket, std::shared_ptr<const Runtime> runtime, WorkerContext& worker) {
    Session session(std::move(socket), std::move(runtime), worker);
    co_await session.run();
}

WorkerTask<void> Session::run() {
    if (!co_await handshake()) co_return;
    bool first = true;
    stream_.expires_after(header_deadline());
    while (keep_going()) {
        // Between requests only this frame waits: serve_request()'s (parser, record) exists only
        // once the next request has begun to arrive.
        if (buffer_.size() == 0) {
            buffer_.shrink_to_fit();  // empty: gives the whole buffer back while idle
            idle_ = true;
            // A new connection gets header_timeout for its whole first request header, a kept-alive
            // one idle_timeout to start its next request.
            if (!first) stream_.expires_after(keep_alive_wait());
            auto [ec] = co_await stream_.async_wait_readable(nothrow);
            idle_ = false;
            if (ec) break;
        }
        if (!co_await serve_request(first)) break;
        first = false;
        leave_unproven();
        if (retire_after_request_) closing_ = true;
    }
    stream_.expires_after(shutdown_timeout);
    co_await stream_.async_shutdown(nothrow);
    error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
}

WorkerTask<bool> Session::handshake() {
    // Connections still in their handshake share a budget per worker; over it, the oldest one
    // goes, so a flood of silent connections cannot keep clients that do complete from starting.
    const std::size_t budget =
        std::max<std::size_t>(1, cfg_.limits.max_pending_handshakes / std::max<std::size_t>(1, w_.worker_count));
    handshaking_at_ = w_.handshaking.insert(w_.handshaking.end(), this);
    handshaking_ = true;
    if (w_.handshaking.size() > budget) evict_oldest_handshake(w_);
    stream_.expires_after(handshake_deadline());
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

HeaderClaim Session::header_claim(const ArenaFields& req) const {
    const auto& name = rt_->headers.device_header;
    HeaderClaim header{peer_trusted_, std::nullopt, name.empty() ? 0 : req.count(name)};
    if (header.count == 1) header.value = req[name];
    return header;
}

WorkerTask<error_code> Session::write_response(http::response<http::string_body>& res, bool keep_alive) {
    res.keep_alive(keep_alive);
    res.prepare_payload();
    stream_.expires_after(client_step_timeout());
    auto [ec, n] = co_await http::async_write(stream_, res, nothrow);
    co_return ec;
}

WorkerTask<error_code> Session::respond(unsigned status, std::string body, std::string_view request_id,
                                        bool keep_alive) {
    http::response<http::string_body> res;
    res.version(11);
    res.result(status);
    if (!body.empty()) res.set(http::field::content_type, "application/json");
    res.set("X-Request-Id", request_id);
    res.body() = std::move(body);
    co_return co_await write_response(res, keep_alive);
}

// Answers an error the gateway decided itself and closes the connection. The caller has noted
// the error in the access record.
WorkerTask<bool> Session::refuse(unsigned status, std::string_view reason, AccessRecord& rec) {
    rec.status = status;
    co_await respond(status, refusal_body(rec.request_id, reason, rec.outcome), rec.request_id, false);
    co_return false;
}

// A request (header or body) the client did not send readably: refused as refusal_for() says, or
// the connection just closes (the client left, went silent or stopped mid-message).
WorkerTask<bool> Session::refuse_unreadable(const error_code& ec, std::string_view what, AccessRecord& rec) {
    note_error(rec, what, ec);
    const auto refusal = refusal_for(ec);
    if (!refusal) co_return false;
    w_.metrics.rejected_requests.inc();
    co_return co_await refuse(refusal->status, refusal->reason, rec);
}

WorkerTask<bool> Session::upstream_failed(const error_code& ec, std::string_view what, AccessRecord& rec) {
    w_.metrics.upstream_errors.inc();
    note_error(rec, what, ec);
    co_return co_await refuse(upstream_failure_status(ec), is_timeout(ec) ? "upstream timeout" : "upstream unreachable",
                              rec);
}

WorkerTask<bool> Session::serve_request(bool first) {
    RequestArena arena(w_.spare_arenas);  // before the parser: it holds the fields
    Parser parser(std::piecewise_construct, std::make_tuple(), std::make_tuple(arena.allocator()));
    parser.header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(cfg_.limits.max_header_bytes, UINT32_MAX)));
    parser.body_limit(cfg_.limits.max_body_bytes);

    if (buffer_.size() == 0 && buffer_.capacity() > idle_buffer_capacity) buffer_.shrink_to_fit();
    idle_ = true;
    // The header must be complete within header_timeout of its first byte (of the handshake, for
    // the first request): a client sending it a byte at a time cannot hold the connection longer.
    if (!first) stream_.expires_after(header_deadline());
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
    // Access policies see the path as the upstream will, and the upstream gets that path.
    const PolicyRequest policy_req = policy_request(cfg_, req[http::field::host], req.target());
    if (!policy_req.refused.empty()) {
        w_.metrics.rejected_requests.inc();
        note_error(rec, {}, policy_req.refused);
        co_return finish(co_await refuse(400, policy_req.refused, rec));
    }
    if (!policy_req.forward_target.empty()) req.target(policy_req.forward_target);

    const auto claim = header_claim(req);
    if (header_claim_ambiguous(cfg_.device_id, claim)) {
        w_.metrics.rejected_requests.inc();
        note_error(rec, {}, "device_id.header repeated by a trusted peer");
        co_return finish(co_await refuse(400, "ambiguous device header", rec));
    }
    const auto id = request_device_id(cfg_.device_id, cert_id_, claim);
    if (is_recheck_path(req.target())) co_return finish(co_await answer_recheck(parser, id, rec));
    const Verdict verdict = co_await lookup_verdict<WorkerExecutor>(
        w_.compliance, id, has_cert_ ? "no valid device id in the client certificate" : "no client certificate",
        rec.request_id);
    const PolicyCheck policy = policy_for(cfg_, policy_req, verdict);
    Answer answer = plan_answer(
        verdict, id,
        {Dialect::Gateway, rec.request_id, req[http::field::accept], req[http::field::host], req.target(), {}, &policy},
        cfg_);
    note_verdict(rec, verdict, id, answer.action);
    note_policy(rec, w_.metrics, policy);
    if (answer.action != Action::Forward) {
        // Counted here; a forward is counted once it really goes out (forward()).
        w_.metrics.count_request(verdict.outcome, answer.action);
        // Without reading an unwanted body we cannot keep the connection.
        co_return finish(co_await answer_locally(std::move(answer), rec, client_keep_alive(parser, !keep_going())));
    }
    co_return finish(co_await forward(parser, answer, rec));
}

// A reject or a redirect, answered by the gateway itself as plan_answer() made it.
WorkerTask<bool> Session::answer_locally(Answer answer, AccessRecord& rec, bool keep) {
    rec.status = answer.status;
    http::response<http::string_body> res;
    res.version(11);
    res.result(answer.status);
    for (const auto& [name, value] : answer.headers) res.set(name, value);
    res.set("X-Request-Id", rec.request_id);
    res.body() = std::move(answer.body);
    const error_code ec = co_await write_response(res, keep);
    co_return keep && !ec;
}

// "Check again" (proxy/answer/recheck.hpp): answered here, never forwarded. Only a POST rechecks.
WorkerTask<bool> Session::answer_recheck(Parser& parser, const std::optional<std::string>& id, AccessRecord& rec) {
    if (parser.get().method() != http::verb::post) {
        note_error(rec, {}, "recheck: not a POST");
        co_return co_await refuse(405, "method not allowed: Check again is a POST", rec);
    }
    const auto body = co_await read_small_body(parser, max_recheck_body);
    const auto back = body ? form_field(*body, "return") : std::nullopt;
    auto done =
        co_await recheck_device<WorkerExecutor>(w_.compliance, id, cfg_.intune.recheck_interval, rec.request_id);
    w_.metrics.count_recheck(done.result);
    if (done.verdict) note_verdict(rec, *done.verdict, id, Action::Redirect);
    rec.device_id = id.value_or(std::string());
    rec.action = std::string(to_string(Action::Redirect));
    Answer answer = plan_recheck(Dialect::Gateway, recheck_location(back.value_or("/")));
    co_return co_await answer_locally(std::move(answer), rec, client_keep_alive(parser, !keep_going()));
}

// The request's body when it has a Content-Length of at most `max` (read here); nullopt otherwise
// (left unread: the connection then closes after the answer).
WorkerTask<std::optional<std::string>> Session::read_small_body(Parser& parser, std::size_t max) {
    std::string body;
    if (parser.is_done()) co_return body;
    const auto length = parser.content_length();
    if (!length || *length > max || beast::iequals(parser.get()[http::field::expect], "100-continue"))
        co_return std::nullopt;
    body.resize(static_cast<std::size_t>(*length));
    parser.get().body().data = body.data();
    parser.get().body().size = body.size();
    stream_.expires_after(client_step_timeout());
    auto [ec, n] = co_await http::async_read(stream_, buffer_, parser, nothrow);
    if ((ec && ec != http::error::need_buffer) || !parser.is_done()) co_return std::nullopt;
    co_return body;
}

// Puts the forward headers on the request (the device facts, the client's own X-Intune-* and
// hop-by-hop fields gone). The reason when a header would be too large to send.
std::optional<std::string> Session::prepare_forward(http::request_header<ArenaFields>& req, const Parser& parser,
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

WorkerTask<bool> Session::forward(Parser& parser, const Answer& answer, AccessRecord& rec) {
    auto& req = parser.get();
    const ForwardRequest fr = forward_request_of(parser);
    const Outcome outcome = answer.facts.outcome;
    if (auto too_large = prepare_forward(req, parser, answer.facts)) {
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

    const unsigned status = rp->get().result_int();
    rec.upstream_status = status;
    const auto framed = frame_for_client(*rp, fr, client_keep_alive(parser, !keep_going()));
    if (!framed.problem.empty()) {
        w_.metrics.upstream_errors.inc();
        note_error(rec, "upstream response", framed.problem);
        co_return co_await refuse(502, "upstream answered with a malformed response", rec);
    }
    rec.status = status;
    const RelayResult back = co_await with_upstream(*up, [&](auto end) {
        return relay_response(end, *rp, framed.framing, client_end(), relay_buf.get(), RelayBuffer::size);
    });
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
    co_return framed.framing.keep_alive;
}

// Sends the request and reads the upstream's final response header into rp (exchange_once()).
// A request that may be sent twice is sent again on a new connection when a pooled one turns out
// to have been closed by the upstream.
WorkerTask<Exchange> Session::send_request(Parser& parser, const ForwardRequest& fr,
                                           std::unique_ptr<UpstreamConnection>& up, std::optional<ResponseParser>& rp,
                                           RelayBuffer& buf) {
    bool sent_continue = false;
    for (int attempt = 0;; ++attempt) {
        up = attempt == 0 ? w_.pool.take(*rt_, fr.retryable) : nullptr;
        if (!up) {
            up = std::make_unique<UpstreamConnection>(stream_.get_executor(), *rt_);
            if (auto ec = co_await connect_upstream(*up, *rt_))
                co_return Exchange{ec, Side::Upstream, "upstream connect", 0};
        }
        const Exchange e = co_await with_upstream(*up, [&](auto end) {
            return exchange_once(client_end(), parser, end, fr, sent_continue, rp, buf.get(), RelayBuffer::size);
        });
        if (attempt == 0 && worth_sending_again(e, up->reused, fr.retryable)) continue;
        co_return e;
    }
}

}  // namespace ig
