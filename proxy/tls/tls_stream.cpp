#include "proxy/tls/tls_stream.hpp"

namespace ig::tls_stream_detail {
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;

TlsSocket::TlsSocket(socket_type socket, SSL_CTX* ctx)
    : socket_(std::move(socket)), timer_(socket_.get_executor()), guard_(std::make_shared<TlsSocket*>(this)) {
    ssl_.reset(SSL_new(ctx));
    if (!ssl_) throw std::bad_alloc();
    // A socket left blocking would stall the whole worker inside SSL_read: both must work.
    error_code ec;
    socket_.non_blocking(true, ec);
    if (ec || SSL_set_fd(ssl_.get(), static_cast<int>(socket_.native_handle())) != 1) {
        ERR_clear_error();
        throw boost::system::system_error(ec ? ec : error_code(EBADF, boost::system::system_category()),
                                          "cannot put TLS on the client socket");
    }
    SSL_set_mode(ssl_.get(),
                 SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
    // One read() per record batch instead of one for the header and one for the body.
    SSL_set_read_ahead(ssl_.get(), 1);
    SSL_set_accept_state(ssl_.get());
}

TlsSocket::~TlsSocket() {
    *guard_ = nullptr;
    // A connection that ends without close_notify (an idle timeout, the client's FIN or reset) keeps
    // its session resumable, as nginx does: OpenSSL would otherwise drop it from the session cache
    // when the SSL is freed. A fatal alert has dropped it already.
    if (SSL_is_init_finished(ssl_.get()))
        SSL_set_shutdown(ssl_.get(), SSL_get_shutdown(ssl_.get()) | SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
}

TlsSocket::Step TlsSocket::result_of(int r, error_code& ec) {
    if (r == 1) return Step::Done;
    const int err = SSL_get_error(ssl_.get(), r);
    const int saved_errno = errno;
    switch (err) {
        case SSL_ERROR_WANT_READ: return Step::WaitRead;
        case SSL_ERROR_WANT_WRITE: return Step::WaitWrite;
        case SSL_ERROR_ZERO_RETURN: ec = net::error::eof; break;
        case SSL_ERROR_SYSCALL:
        case SSL_ERROR_SSL: {
            fatal_ = true;  // no further I/O on this connection, not even close_notify
            const unsigned long e = ERR_get_error();
            if (e && ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
                ec = ssl::error::stream_truncated;
            else if (e && ERR_GET_LIB(e) == ERR_LIB_SYS)
                ec = error_code(ERR_GET_REASON(e), boost::system::system_category());
            else if (e)
                ec = error_code(static_cast<int>(e), net::error::get_ssl_category());
            else if (err == SSL_ERROR_SYSCALL && saved_errno)
                ec = error_code(saved_errno, boost::system::system_category());
            else
                ec = ssl::error::stream_truncated;
            ERR_clear_error();
            break;
        }
        default: ec = ssl::error::unexpected_result;
    }
    return Step::Done;
}

void TlsSocket::arm_timer() {
    if (deadline_ == clock_type::time_point::max()) return;
    if (timer_armed_ && timer_expiry_ <= deadline_) return;  // fires first, then re-checks
    timer_armed_ = true;
    timer_expiry_ = deadline_;
    timer_.expires_at(deadline_);
    timer_.async_wait([guard = guard_](const error_code& ec) {
        TlsSocket* self = *guard;
        if (ec == net::error::operation_aborted || !self) return;
        self->timer_armed_ = false;
        if (!self->waiting_) return;
        if (clock_type::now() < self->deadline_) return self->arm_timer();
        self->timed_out_ = true;
        self->cancel();
    });
}

}  // namespace ig::tls_stream_detail
