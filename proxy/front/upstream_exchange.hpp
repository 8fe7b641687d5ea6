#pragma once
// A forwarded request's exchange with the upstream, after the gateway decided to forward: the
// request goes out with its body relayed from the client (a 100 Continue first when the client
// expects one), the upstream's final response header is read (interim 1xx dropped, 101 is final),
// and the response is relayed back as framed for the client. Templated on the streams: the front
// end passes its TLS stream to the client and an upstream connection's stream (plain or TLS); the
// unit tests (tests/proxy/front/test_upstream_exchange.cpp) pass TCP streams over loopback pairs.
// Which connection is used, and whether a request is sent again, is the session's (session.cpp).
#include "core/graph/bounded_parser.hpp"
#include "proxy/answer/headers.hpp"
#include "proxy/front/relay.hpp"
#include "proxy/http/request_arena.hpp"
#include "proxy/http/request_framing.hpp"
#include "proxy/http/response_framing.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <tuple>

namespace ig {

// Their fields live in the request's arena (proxy/http/request_arena.hpp); a parser made without
// an allocator uses the heap.
using RequestParser = BoundedRequestParser<boost::beast::http::buffer_body, ArenaAllocator>;
using ResponseParser = BoundedResponseParser<boost::beast::http::buffer_body, ArenaAllocator>;

inline constexpr std::uint32_t upstream_header_limit = 64 * 1024;

// What the exchange needs of the client's request, taken before its headers are rewritten.
struct ForwardRequest {
    unsigned client_version = 11;
    bool head = false;
    bool has_body = false;
    bool expect_continue = false;
    bool retryable = false;  // may be sent twice: see forward_request_of()
};

// Only a request that cannot have been half-done can be sent twice: an idempotent method
// (RFC 9110 9.2.2) without a body. A POST, even with Content-Length: 0, is sent once.
inline ForwardRequest forward_request_of(const RequestParser& parser) {
    namespace http = boost::beast::http;
    const auto& req = parser.get();
    const auto m = req.method();
    ForwardRequest fr;
    fr.client_version = req.version();
    fr.head = m == http::verb::head;
    fr.has_body = !parser.is_done();
    fr.expect_continue = boost::beast::iequals(req[http::field::expect], "100-continue");
    const bool idempotent = m == http::verb::get || m == http::verb::head || m == http::verb::options ||
                            m == http::verb::trace || m == http::verb::put || m == http::verb::delete_;
    fr.retryable = idempotent && !fr.has_body;
    return fr;
}

// How an exchange ended before the response was relayed.
struct Exchange {
    boost::system::error_code ec;
    Side side = Side::None;  // Client: reading the request (or writing the 100 Continue) failed
    std::string_view what;  // the step that failed, for the access record; empty: the 100 Continue
    std::size_t response_bytes = 0;  // read from the upstream before it failed
};

inline bool is_timeout(const boost::system::error_code& ec) { return ec == boost::beast::error::timeout; }

// The status the client gets when the upstream failed: 504 when it did not answer in time, else 502.
inline unsigned upstream_failure_status(const boost::system::error_code& ec) { return is_timeout(ec) ? 504 : 502; }

// True when a failed exchange on a reused (pooled) connection may go out again on a new one: the
// request may be sent twice, the upstream did not time out, and it sent no byte of a response
// (it had closed the idle connection just before).
inline bool worth_sending_again(const Exchange& e, bool reused, bool retryable) {
    if (!e.ec || e.side != Side::Upstream || !reused || !retryable || is_timeout(e.ec)) return false;
    return e.what == "upstream write" || e.response_bytes == 0;
}

// One end of the exchange: its stream, the buffer of bytes read from it, the deadline per step.
template <class Stream>
struct ExchangeEnd {
    Stream& stream;
    boost::beast::flat_buffer& buffer;
    std::chrono::steady_clock::duration step_timeout;
    RelayEnd<Stream> relay_end(Side side) const { return RelayEnd<Stream>{stream, step_timeout, side}; }
};

// Reads response headers until the final one into rp, and the bytes read (so that a connection
// that closed before answering can be told apart). The first header's fields are allocated with
// `fields` (the request's arena); after an interim (1xx) response, from the heap: the arena keeps
// what it gives until the request ends, and an upstream may send any number of interim responses.
template <class Upstream>
StreamTask<Upstream, std::pair<boost::system::error_code, std::size_t>> read_final_header(
    ExchangeEnd<Upstream> up, std::optional<ResponseParser>& rp, bool head, const ArenaAllocator& fields) {
    namespace http = boost::beast::http;
    constexpr auto nothrow = nothrow_on<typename Upstream::executor_type>;
    std::size_t got = 0;
    for (bool interim = false;; interim = true) {
        rp.emplace(std::piecewise_construct, std::make_tuple(), std::make_tuple(interim ? ArenaAllocator() : fields));
        rp->header_limit(upstream_header_limit);
        rp->body_limit(boost::none);
        if (head) rp->skip(true);
        boost::beast::get_lowest_layer(up.stream).expires_after(up.step_timeout);
        auto [ec, n] = co_await http::async_read_header(up.stream, up.buffer, *rp, nothrow);
        got += n;
        const unsigned status = ec ? 0 : rp->get().result_int();
        if (ec || status / 100 != 1 || status == 101) co_return std::pair{ec, got};
    }
}

// One attempt on a connected upstream: the 100 Continue (once per request: sent_continue),
// the request with its body, the final response header into rp.
template <class Client, class Upstream>
StreamTask<Client, Exchange> exchange_once(ExchangeEnd<Client> client, RequestParser& parser, ExchangeEnd<Upstream> up,
                                           const ForwardRequest& fr, bool& sent_continue,
                                           std::optional<ResponseParser>& rp, char* buf, std::size_t buf_size) {
    namespace net = boost::asio;
    constexpr auto nothrow = nothrow_on<typename Client::executor_type>;
    if (fr.expect_continue && fr.has_body && !sent_continue) {
        sent_continue = true;
        static constexpr std::string_view cont = "HTTP/1.1 100 Continue\r\n\r\n";
        boost::beast::get_lowest_layer(client.stream).expires_after(client.step_timeout);
        auto [ec, n] = co_await net::async_write(client.stream, net::buffer(cont.data(), cont.size()), nothrow);
        if (ec) co_return Exchange{ec, Side::Client, {}, 0};
    }
    auto sent = co_await relay_message<true>(client.relay_end(Side::Client), client.buffer, parser,
                                             up.relay_end(Side::Upstream), buf, buf_size);
    if (sent.ec && sent.side == Side::Client) co_return Exchange{sent.ec, Side::Client, "client", 0};
    if (sent.ec) co_return Exchange{sent.ec, Side::Upstream, "upstream write", 0};
    auto [ec, got] = co_await read_final_header(up, rp, fr.head, parser.get().get_allocator());
    if (ec) co_return Exchange{ec, Side::Upstream, "upstream read", got};
    co_return Exchange{};
}

// The upstream's final response header made ready for the client: hop-by-hop fields gone, framed
// for the client (keep: the client's connection may stay open). `problem` says why it must not be
// relayed: the client must frame it as the gateway's parser did, so one framing field each at most.
struct ClientFraming {
    std::string_view problem;  // a literal
    ResponseFraming framing;
};
inline ClientFraming frame_for_client(ResponseParser& rp, const ForwardRequest& fr, bool keep) {
    auto& res = rp.get();
    ClientFraming out;
    out.problem = check_response_framing(res);
    if (!out.problem.empty()) return out;
    strip_hop_by_hop(res);
    out.framing = frame_response(upstream_response(rp), {fr.client_version, fr.head, keep});
    apply_framing(res, out.framing);
    return out;
}

// Sends the response header (framed for the client: frame_for_client()) and relays the body as framed.
template <class Upstream, class Client>
StreamTask<Upstream, RelayResult> relay_response(ExchangeEnd<Upstream> up, ResponseParser& rp,
                                                 const ResponseFraming& framing, ExchangeEnd<Client> client, char* buf,
                                                 std::size_t buf_size) {
    namespace http = boost::beast::http;
    constexpr auto nothrow = nothrow_on<typename Upstream::executor_type>;
    if (framing.body == ResponseFraming::Body::None) {
        http::serializer<false, http::buffer_body, ArenaFields> sr{rp.get()};
        boost::beast::get_lowest_layer(client.stream).expires_after(client.step_timeout);
        auto [ec, n] = co_await http::async_write_header(client.stream, sr, nothrow);
        co_return RelayResult{ec, ec ? Side::Client : Side::None};
    }
    co_return co_await relay_message<false>(up.relay_end(Side::Upstream), up.buffer, rp, client.relay_end(Side::Client),
                                            buf, buf_size);
}

}  // namespace ig
