#pragma once
// Moving one HTTP message from one stream to another piece by piece through a fixed buffer, as
// Beast's relay example does, asynchronously and with a deadline per step.
#include "core/graph/bounded_parser.hpp"
#include "proxy/front/worker_executor.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/flat_stream.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <memory>
#include <type_traits>
#include <vector>

namespace ig {

enum class Side { None, Client, Upstream };

struct RelayResult {
    boost::system::error_code ec;
    Side side = Side::None;  // which end failed
};

// A relay's coroutine runs on the executor type of the streams it moves bytes between (the
// front end: its worker's, proxy/front/worker_executor.hpp).
template <class Stream, class T>
using StreamTask = boost::asio::awaitable<T, typename Stream::executor_type>;

// What a relay writes a message through. Beast hands a header out as one buffer per field and every
// layer of a write walks that sequence again, so flat_stream copies a small write into one buffer
// first. A stream that declares `coalesces_writes` (TlsSocket) makes that copy itself, into a
// buffer of its thread's, where flat_stream would allocate one per relay: it is written to as it is.
template <class Stream>
concept CoalescesWrites = Stream::coalesces_writes;
template <class Out>
using WriteStream = std::conditional_t<CoalescesWrites<Out>, Out&, boost::beast::flat_stream<Out&>>;

// One end of a relay: the stream, the deadline each read or write on it gets, and its name.
template <class Stream>
struct RelayEnd {
    Stream& stream;
    std::chrono::steady_clock::duration step_timeout;  // bounds each read or write, not the message
    Side side;
};

// A message complete with its header (no body, or a HEAD answer): nothing to read and, without a
// chunked body, no trailer to keep out, so the parser's own message is written without a copy.
template <bool isRequest, class Allocator, class Out>
StreamTask<Out, RelayResult> relay_header_only(
    boost::beast::http::parser<isRequest, boost::beast::http::buffer_body, Allocator>& p, RelayEnd<Out> out) {
    namespace http = boost::beast::http;
    constexpr auto nothrow = nothrow_on<typename Out::executor_type>;
    auto& msg = p.get();
    msg.body().data = nullptr;
    msg.body().size = 0;
    msg.body().more = false;
    http::serializer<isRequest, http::buffer_body, http::basic_fields<Allocator>> sr{msg};
    boost::beast::get_lowest_layer(out.stream).expires_after(out.step_timeout);
    WriteStream<Out> flat(out.stream);
    auto [ec, n] = co_await http::async_write(flat, sr, nothrow);
    if (ec == http::error::need_buffer) ec = {};
    co_return ec ? RelayResult{ec, out.side} : RelayResult{};
}

// Moves the body of p's message through buf, serialising `msg` (p's own message or a copy of its
// header): each read of a piece of the body is followed by a write of it, so the parser and the
// serializer can share one buffer_body. The header goes out with the first piece of the body in
// one write (one TLS record, one syscall for a small message). Each read and each write gets its
// end's step_timeout.
template <bool isRequest, class Allocator, class In, class Out>
StreamTask<In, RelayResult> relay_body(
    RelayEnd<In> in, boost::beast::flat_buffer& in_buffer,
    boost::beast::http::parser<isRequest, boost::beast::http::buffer_body, Allocator>& p,
    boost::beast::http::message<isRequest, boost::beast::http::buffer_body,
                                boost::beast::http::basic_fields<Allocator>>& msg,
    RelayEnd<Out> out, char* buf, std::size_t buf_size) {
    namespace http = boost::beast::http;
    constexpr auto nothrow = nothrow_on<typename In::executor_type>;
    // Bounds a chunk line or trailer (max_body_framing_bytes); the header's bound comes back after.
    struct FramingBound {
        boost::beast::flat_buffer& b;
        std::size_t saved = b.max_size();
        explicit FramingBound(boost::beast::flat_buffer& buffer) : b(buffer) {
            b.max_size(std::max(max_body_framing_bytes, b.size()));
        }
        ~FramingBound() { b.max_size(saved); }
        FramingBound(const FramingBound&) = delete;
        FramingBound& operator=(const FramingBound&) = delete;
    } framing_bound{in_buffer};
    auto& in_body = p.get().body();
    auto& body = msg.body();
    body.data = nullptr;
    body.size = 0;
    body.more = !p.is_done();
    http::serializer<isRequest, http::buffer_body, http::basic_fields<Allocator>> sr{msg};
    WriteStream<Out> flat(out.stream);
    while (!sr.is_done()) {
        if (!p.is_done()) {
            in_body.data = buf;
            in_body.size = buf_size;
            boost::beast::get_lowest_layer(in.stream).expires_after(in.step_timeout);
            auto [ec, n] = co_await http::async_read_some(in.stream, in_buffer, p, nothrow);
            if (ec == http::error::need_buffer) ec = {};
            if (ec) co_return RelayResult{ec, in.side};
            body.size = buf_size - in_body.size;
            body.data = body.size ? buf : nullptr;
            body.more = !p.is_done();
        } else {
            body.data = nullptr;
            body.size = 0;
            body.more = false;
        }
        boost::beast::get_lowest_layer(out.stream).expires_after(out.step_timeout);
        auto [ec, n] = co_await http::async_write(flat, sr, nothrow);
        if (ec == http::error::need_buffer) ec = {};
        if (ec) co_return RelayResult{ec, out.side};
    }
    co_return RelayResult{};
}

// Moves one message from `in` to `out`. p's header must be read and the message ready to
// serialise. A chunked message is serialised from a copy of p's header taken here: Beast merges
// the fields of a chunked trailer into p's header, and when the body is only the last chunk that
// happens before the first write. Trailers are thus dropped, never sent on as header fields.
// Any other message (its length known, no trailer possible) is serialised from p's own message,
// without copying its header fields.
template <bool isRequest, class Allocator, class In, class Out>
StreamTask<In, RelayResult> relay_message(
    RelayEnd<In> in, boost::beast::flat_buffer& in_buffer,
    boost::beast::http::parser<isRequest, boost::beast::http::buffer_body, Allocator>& p, RelayEnd<Out> out, char* buf,
    std::size_t buf_size) {
    namespace http = boost::beast::http;
    if (p.is_done()) co_return co_await relay_header_only(p, out);
    if (!p.chunked()) co_return co_await relay_body(in, in_buffer, p, p.get(), out, buf, buf_size);
    http::message<isRequest, http::buffer_body, http::basic_fields<Allocator>> msg{p.get().base()};
    co_return co_await relay_body(in, in_buffer, p, msg, out, buf, buf_size);
}

// A relay buffer lent from a per-worker stock for the duration of one forwarded request, so an
// idle keep-alive connection holds none.
class RelayBuffer {
public:
    static constexpr std::size_t size = 32 * 1024;

    explicit RelayBuffer(std::vector<std::unique_ptr<char[]>>& spares) : spares_(spares) {
        if (spares_.empty()) {
            buf_ = std::make_unique<char[]>(size);
        } else {
            buf_ = std::move(spares_.back());
            spares_.pop_back();
        }
    }
    ~RelayBuffer() {
        if (spares_.size() < max_spare_buffers) spares_.push_back(std::move(buf_));
    }
    RelayBuffer(const RelayBuffer&) = delete;
    RelayBuffer& operator=(const RelayBuffer&) = delete;
    char* get() const { return buf_.get(); }

private:
    static constexpr std::size_t max_spare_buffers = 64;
    std::vector<std::unique_ptr<char[]>>& spares_;
    std::unique_ptr<char[]> buf_;
};

}  // namespace ig
