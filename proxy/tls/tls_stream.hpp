#pragma once
// The client side's TLS stream: OpenSSL on the socket's file descriptor, with Asio waits and
// Beast-style timeouts. A Beast AsyncReadStream/AsyncWriteStream (http::async_read etc. work on it).
#include "core/tls/openssl_ptr.hpp"

#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/assert.hpp>
#include <boost/beast/core/async_base.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/system/system_error.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <memory>
#include <type_traits>

namespace ig {
namespace tls_stream_detail {

using tcp = boost::asio::ip::tcp;
using error_code = boost::system::error_code;
using clock_type = std::chrono::steady_clock;

// A TLS stream straight on the socket: OpenSSL reads and writes the file descriptor itself
// (SSL_set_fd), so there is no BIO pair, no Asio record buffers and no extra copy of every byte.
// An idle keep-alive connection holds the SSL object only (its record buffers are released when
// empty, SSL_MODE_RELEASE_BUFFERS). One operation at a time (a session never reads and writes at
// once). Timeouts as boost::beast::tcp_stream: expires_after() covers the operations that follow; the
// timer is armed only when an operation has to wait, and is not re-armed when the deadline only
// moved later (it re-checks when it fires).
// OpenSSL writes to the socket with write(2): the process must ignore SIGPIPE (Server::start does).
class TlsSocket {
public:
    // Its worker's io_context executor, named rather than type-erased (proxy/front/worker_executor.hpp).
    using executor_type = boost::asio::io_context::executor_type;
    using socket_type = boost::asio::basic_stream_socket<tcp, executor_type>;
    // A write of several buffers up to 16 KB goes out as one record (proxy/front/relay.hpp).
    static constexpr bool coalesces_writes = true;

    // Takes the accepted socket; throws when it cannot be made non-blocking or given to OpenSSL.
    TlsSocket(socket_type socket, SSL_CTX* ctx);
    ~TlsSocket();
    TlsSocket(const TlsSocket&) = delete;
    TlsSocket& operator=(const TlsSocket&) = delete;

    executor_type get_executor() noexcept { return socket_.get_executor(); }
    SSL* native_handle() const { return ssl_.get(); }
    socket_type& socket() { return socket_; }

    void expires_after(clock_type::duration d) { deadline_ = clock_type::now() + d; }
    void expires_never() { deadline_ = clock_type::time_point::max(); }
    void cancel() {
        error_code ec;
        socket_.cancel(ec);
    }

    template <class MutableBuffers, class Token>
    auto async_read_some(const MutableBuffers& buffers, Token&& token) {
        return boost::asio::async_initiate<Token, void(error_code, std::size_t)>(
            [this](auto handler, const MutableBuffers& b) {
                boost::asio::mutable_buffer first;
                for (auto it = boost::asio::buffer_sequence_begin(b); it != boost::asio::buffer_sequence_end(b); ++it)
                    if (boost::asio::mutable_buffer m(*it); m.size()) {
                        first = m;
                        break;
                    }
                IoOp<std::decay_t<decltype(handler)>, Kind::Read, boost::asio::mutable_buffer>(std::move(handler),
                                                                                               *this, first);
            },
            token, buffers);
    }

    template <class ConstBuffers, class Token>
    auto async_write_some(const ConstBuffers& buffers, Token&& token) {
        return boost::asio::async_initiate<Token, void(error_code, std::size_t)>(
            [this](auto handler, const ConstBuffers& b) {
                IoOp<std::decay_t<decltype(handler)>, Kind::Write, ConstBuffers>(std::move(handler), *this, b);
            },
            token, buffers);
    }

    template <class Token>
    auto async_handshake(Token&& token) {
        return boost::asio::async_initiate<Token, void(error_code)>(
            [this](auto handler) {
                IoOp<std::decay_t<decltype(handler)>, Kind::Handshake, boost::asio::const_buffer>(std::move(handler),
                                                                                                  *this, {});
            },
            token);
    }

    // Completes when a read would find data (or EOF): OpenSSL holds bytes or the socket is
    // readable. Lets an idle connection wait without a request parser or buffer.
    template <class Token>
    auto async_wait_readable(Token&& token) {
        return boost::asio::async_initiate<Token, void(error_code)>(
            [this](auto handler) {
                IoOp<std::decay_t<decltype(handler)>, Kind::WaitReadable, boost::asio::const_buffer>(std::move(handler),
                                                                                                     *this, {});
            },
            token);
    }

    // Sends close_notify without waiting for the peer's (most clients just close). Completes at
    // once, sending nothing, after a fatal error, a timeout or an unfinished handshake: OpenSSL
    // must not write on a connection in that state (as nginx does).
    template <class Token>
    auto async_shutdown(Token&& token) {
        return boost::asio::async_initiate<Token, void(error_code)>(
            [this](auto handler) {
                IoOp<std::decay_t<decltype(handler)>, Kind::Shutdown, boost::asio::const_buffer>(std::move(handler),
                                                                                                 *this, {});
            },
            token);
    }

private:
    enum class Kind { Handshake, Read, Write, Shutdown, WaitReadable };
    enum class Step { Done, WaitRead, WaitWrite };

    static constexpr std::size_t max_coalesced = 16 * 1024;

    // One SSL call. n: bytes moved. A Done with ec set is an error.
    template <class Buffers>
    Step perform(Kind kind, const Buffers& buffers, error_code& ec, std::size_t& n) {
        ERR_clear_error();
        int r = 0;
        n = 0;
        switch (kind) {
            case Kind::Handshake: r = SSL_do_handshake(ssl_.get()); break;
            case Kind::WaitReadable: return Step::Done;
            case Kind::Shutdown:
                SSL_set_shutdown(ssl_.get(), SSL_get_shutdown(ssl_.get()) | SSL_RECEIVED_SHUTDOWN);
                r = SSL_shutdown(ssl_.get());
                if (r == 0) r = 1;  // close_notify sent; the peer's is not awaited
                break;
            case Kind::Read:
                if constexpr (std::is_same_v<Buffers, boost::asio::mutable_buffer>) {
                    if (buffers.size() == 0) return Step::Done;
                    r = SSL_read_ex(ssl_.get(), buffers.data(), buffers.size(), &n) ? 1 : 0;
                }
                break;
            case Kind::Write: {
                // A header and a small body go out as one record (one syscall), as boost::beast::flat_stream does.
                const std::size_t total = boost::asio::buffer_size(buffers);
                if (total == 0) return Step::Done;
                const void* data;
                std::size_t size;
                if (boost::asio::buffer_sequence_end(buffers) ==
                        std::next(boost::asio::buffer_sequence_begin(buffers)) ||
                    boost::asio::const_buffer(*boost::asio::buffer_sequence_begin(buffers)).size() >= max_coalesced) {
                    boost::asio::const_buffer first(*boost::asio::buffer_sequence_begin(buffers));
                    for (auto it = boost::asio::buffer_sequence_begin(buffers);
                         first.size() == 0 && it != boost::asio::buffer_sequence_end(buffers); ++it)
                        first = *it;
                    data = first.data();
                    size = first.size();
                } else {
                    thread_local std::unique_ptr<char[]> scratch(new char[max_coalesced]);
                    size = boost::asio::buffer_copy(boost::asio::buffer(scratch.get(), max_coalesced), buffers);
                    data = scratch.get();
                }
                r = SSL_write_ex(ssl_.get(), data, size, &n) ? 1 : 0;
                break;
            }
        }
        return result_of(r, ec);
    }

    // Turns an SSL call's return value into a step; sets ec on an error.
    Step result_of(int r, error_code& ec);

    // Arms the deadline timer for an operation that has to wait.
    void arm_timer();

    template <class Handler, Kind kind, class Buffers>
    class IoOp : public boost::beast::async_base<Handler, executor_type> {
    public:
        IoOp(Handler&& h, TlsSocket& s, const Buffers& b)
            : boost::beast::async_base<Handler, executor_type>(std::move(h), s.get_executor()), s_(s), b_(b) {
            BOOST_ASSERT_MSG(!s_.busy_, "TlsSocket: one operation at a time");
            s_.busy_ = true;
            if (kind == Kind::Shutdown && (s_.fatal_ || s_.timed_out_ || !SSL_is_init_finished(s_.ssl_.get())))
                finish(false, {}, 0);
            else if (s_.timed_out_)
                finish(false, boost::beast::error::timeout, 0);
            else if (kind == Kind::WaitReadable) {
                if (SSL_has_pending(s_.ssl_.get()))
                    finish(false, {}, 0);
                else
                    wait(Step::WaitRead);
            }
            // A read right after a response usually finds nothing yet: wait for the socket
            // first, unless OpenSSL already holds bytes.
            else if (kind == Kind::Read && s_.fresh_read_ && !SSL_has_pending(s_.ssl_.get()))
                wait(Step::WaitRead);
            else
                step(false);
        }

        void operator()(error_code ec) {
            s_.waiting_ = false;
            if (ec) {
                if (s_.timed_out_ ||
                    (ec == boost::asio::error::operation_aborted && clock_type::now() >= s_.deadline_)) {
                    s_.timed_out_ = true;
                    ec = boost::beast::error::timeout;
                }
                return finish(true, ec, 0);
            }
            if (kind == Kind::WaitReadable) return finish(true, ec, 0);
            step(true);
        }

    private:
        void step(bool cont) {
            error_code ec;
            std::size_t n = 0;
            const Step st = s_.perform(kind, b_, ec, n);
            if (st != Step::Done) return wait(st);
            finish(cont, ec, n);
        }
        void wait(Step st) {
            s_.waiting_ = true;
            s_.arm_timer();
            s_.socket_.async_wait(st == Step::WaitRead ? tcp::socket::wait_read : tcp::socket::wait_write,
                                  std::move(*this));
        }
        void finish(bool cont, error_code ec, std::size_t n) {
            s_.busy_ = false;
            if constexpr (kind == Kind::Read || kind == Kind::WaitReadable) s_.fresh_read_ = false;
            if constexpr (kind == Kind::Write) s_.fresh_read_ = true;
            if constexpr (kind == Kind::Read || kind == Kind::Write)
                this->complete(cont, ec, n);
            else
                this->complete(cont, ec);
        }

        TlsSocket& s_;
        Buffers b_;
    };

    socket_type socket_;
    boost::asio::basic_waitable_timer<clock_type, boost::asio::wait_traits<clock_type>, executor_type> timer_;
    std::shared_ptr<TlsSocket*> guard_;  // lets a late timer handler see that the stream is gone
    SslPtr ssl_;  // freed before socket_ closes the descriptor: its socket BIO does not own it
    clock_type::time_point deadline_ = clock_type::time_point::max();
    clock_type::time_point timer_expiry_{};
    bool timer_armed_ = false;
    bool waiting_ = false;
    bool timed_out_ = false;
    bool fresh_read_ = false;  // the last operation was a write: the peer has probably not answered yet
    bool fatal_ = false;  // a fatal TLS or socket error happened
    bool busy_ = false;  // an operation is in progress
};

}  // namespace tls_stream_detail

using tls_stream_detail::TlsSocket;

}  // namespace ig
