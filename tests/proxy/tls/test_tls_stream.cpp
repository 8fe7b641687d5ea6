#define BOOST_TEST_MODULE tls_stream
#include <boost/test/unit_test.hpp>

#include "proxy/tls/session_cache.hpp"
#include "proxy/tls/tls_stream.hpp"
#include "tests/support/test_pki.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/write.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>

namespace net = boost::asio;
using error_code = boost::system::error_code;
using namespace std::chrono_literals;

namespace {

const std::filesystem::path& pki_dir() { return ig::test::test_pki(); }

struct Contexts {
    ig::SslCtxPtr server{SSL_CTX_new(TLS_server_method())};
    ig::SslCtxPtr client{SSL_CTX_new(TLS_client_method())};
    Contexts() {
        const auto dir = pki_dir();
        BOOST_REQUIRE(SSL_CTX_use_certificate_chain_file(server.get(), (dir / "server.crt").c_str()) == 1);
        BOOST_REQUIRE(SSL_CTX_use_PrivateKey_file(server.get(), (dir / "server.key").c_str(), SSL_FILETYPE_PEM) == 1);
    }
};

// A TlsSocket on one end of a socketpair; the other end is a blocking OpenSSL client (`peer`).
struct Pair {
    Contexts ctx;
    net::io_context io;
    int fds[2] = {-1, -1};
    std::optional<ig::TlsSocket> stream;
    ig::SslPtr owned_peer;
    SSL* peer = nullptr;

    explicit Pair(int server_sndbuf = 0) {
        BOOST_REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
        if (server_sndbuf) ::setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &server_sndbuf, sizeof server_sndbuf);
        ig::TlsSocket::socket_type s(io);
        s.assign(net::ip::tcp::v4(), fds[0]);
        stream.emplace(std::move(s), ctx.server.get());
        owned_peer.reset(SSL_new(ctx.client.get()));
        peer = owned_peer.get();
        SSL_set_fd(peer, fds[1]);
    }
    ~Pair() {
        if (fds[1] >= 0) ::close(fds[1]);
    }
    void close_peer() {
        ::close(fds[1]);
        fds[1] = -1;
    }

    // Runs one operation to completion (or 10 s); the error it completed with.
    template <class Start>
    error_code run(Start start, std::size_t* n = nullptr) {
        std::optional<error_code> got;
        start([&](error_code ec, std::size_t bytes = 0) {
            got = ec;
            if (n) *n = bytes;
        });
        io.restart();
        io.run_for(10s);
        BOOST_REQUIRE_MESSAGE(got.has_value(), "operation did not complete");
        return *got;
    }
    error_code handshake() {
        std::thread client([&] { SSL_connect(peer); });
        auto ec = run([&](auto h) { stream->async_handshake([h](error_code e) mutable { h(e); }); });
        client.join();
        return ec;
    }
    error_code read(std::string& out) {
        char buf[4096];
        std::size_t n = 0;
        auto ec = run(
            [&](auto h) {
                stream->async_read_some(net::buffer(buf), [h](error_code e, std::size_t k) mutable { h(e, k); });
            },
            &n);
        out.assign(buf, n);
        return ec;
    }
    error_code shutdown() {
        return run([&](auto h) { stream->async_shutdown([h](error_code e) mutable { h(e); }); });
    }
};

}  // namespace

BOOST_AUTO_TEST_CASE(handshake_read_and_close_notify) {
    Pair p;
    BOOST_REQUIRE(!p.handshake());
    BOOST_REQUIRE(SSL_write(p.peer, "ping", 4) == 4);
    std::string got;
    BOOST_TEST(!p.read(got));
    BOOST_TEST(got == "ping");
    SSL_shutdown(p.peer);  // close_notify
    BOOST_TEST((p.read(got) == net::error::eof));
    // Our close_notify goes out (the peer's was received).
    BOOST_TEST(!p.shutdown());
    BOOST_TEST((SSL_get_shutdown(p.stream->native_handle()) & SSL_SENT_SHUTDOWN) != 0);
    char byte;
    BOOST_TEST(SSL_read(p.peer, &byte, 1) == 0);
    BOOST_TEST(SSL_get_error(p.peer, 0) == SSL_ERROR_ZERO_RETURN);
}

BOOST_AUTO_TEST_CASE(large_write_through_a_small_send_buffer) {
    Pair p(4096);  // forces SSL_ERROR_WANT_WRITE
    BOOST_REQUIRE(!p.handshake());
    std::string data(1 << 20, '\0');
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>('a' + i % 26);
    std::string received;
    std::thread client([&] {
        char buf[16384];
        while (received.size() < data.size()) {
            std::this_thread::sleep_for(1ms);
            const int n = SSL_read(p.peer, buf, sizeof buf);
            if (n <= 0) break;
            received.append(buf, static_cast<std::size_t>(n));
        }
    });
    std::size_t written = 0;
    auto ec = p.run(
        [&](auto h) {
            net::async_write(*p.stream, net::buffer(data), [h](error_code e, std::size_t k) mutable { h(e, k); });
        },
        &written);
    client.join();
    BOOST_TEST(!ec);
    BOOST_TEST(written == data.size());
    BOOST_TEST((received == data));
}

BOOST_AUTO_TEST_CASE(timeout_then_no_shutdown) {
    Pair p;
    BOOST_REQUIRE(!p.handshake());
    p.stream->expires_after(200ms);
    std::string got;
    const auto t0 = std::chrono::steady_clock::now();
    BOOST_TEST((p.read(got) == boost::beast::error::timeout));
    BOOST_TEST((std::chrono::steady_clock::now() - t0 >= 150ms));
    // After a timeout nothing more is written: shutdown completes at once and sends nothing.
    p.stream->expires_after(5s);
    BOOST_TEST(!p.shutdown());
    BOOST_TEST((SSL_get_shutdown(p.stream->native_handle()) & SSL_SENT_SHUTDOWN) == 0);  // no close_notify
    BOOST_TEST((p.read(got) == boost::beast::error::timeout));  // and the stream stays timed out
}

// OpenSSL drops from the cache the session of an SSL freed without close_notify sent; a stream
// that ended by a timeout (the usual end of a keep-alive connection) keeps its session resumable.
BOOST_AUTO_TEST_CASE(a_connection_ended_by_a_timeout_keeps_its_session_cached) {
    Pair p;
    ig::use_process_session_cache(p.ctx.server.get(), 64);
    BOOST_REQUIRE(!p.handshake());
    const std::size_t cached = ig::process_session_cache().size();
    BOOST_REQUIRE(cached >= 1u);
    p.stream->expires_after(100ms);
    std::string got;
    BOOST_REQUIRE((p.read(got) == boost::beast::error::timeout));
    BOOST_REQUIRE(!p.shutdown());  // sends nothing after a timeout
    p.stream.reset();
    BOOST_TEST(ig::process_session_cache().size() == cached);
}

BOOST_AUTO_TEST_CASE(truncation_then_no_shutdown) {
    Pair p;
    BOOST_REQUIRE(!p.handshake());
    // The peer's end of the stream without close_notify (a half-close: an unread session ticket
    // would turn a full close into a reset).
    ::shutdown(p.fds[1], SHUT_WR);
    std::string got;
    const auto ec = p.read(got);
    BOOST_TEST((ec == net::ssl::error::stream_truncated), ec.message());
    BOOST_TEST(!p.shutdown());  // completes at once: no write on a dead connection
}

BOOST_AUTO_TEST_CASE(failed_or_unfinished_handshake_then_no_shutdown) {
    {
        Pair p;
        BOOST_REQUIRE(::write(p.fds[1], "GET / HTTP/1.1\r\n\r\n", 18) == 18);  // not TLS
        auto ec = p.run([&](auto h) { p.stream->async_handshake([h](error_code e) mutable { h(e); }); });
        BOOST_TEST(!!ec);
        BOOST_TEST(!p.shutdown());
    }
    {
        Pair p;  // the peer never sends a ClientHello
        p.stream->expires_after(100ms);
        auto ec = p.run([&](auto h) { p.stream->async_handshake([h](error_code e) mutable { h(e); }); });
        BOOST_TEST((ec == boost::beast::error::timeout));
        BOOST_TEST(!p.shutdown());
        BOOST_TEST((SSL_get_shutdown(p.stream->native_handle()) & SSL_SENT_SHUTDOWN) == 0);
    }
}

BOOST_AUTO_TEST_CASE(socket_that_cannot_be_used_is_refused) {
    Contexts ctx;
    net::io_context io;
    ig::TlsSocket::socket_type closed(io);  // no descriptor
    BOOST_CHECK_THROW(ig::TlsSocket(std::move(closed), ctx.server.get()), boost::system::system_error);
}
