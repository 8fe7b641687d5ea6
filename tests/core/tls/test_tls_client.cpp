// The client side of TLS against a local TLS server with the demo PKI: the right name (or address)
// verifies and SNI carries the name, a certificate for another name or from an unknown CA is
// refused, and a server that never answers the ClientHello ends the handshake at its deadline.
#define BOOST_TEST_MODULE tls_client
#include <boost/test/unit_test.hpp>

#include "core/tls/tls_client.hpp"
#include "tests/support/core_env.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <array>
#include <chrono>
#include <optional>
#include <string>

using namespace ig;
using namespace std::chrono_literals;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto use_tuple = net::as_tuple(net::use_awaitable);

// One connection: a TLS server with the named demo certificate, or (no certificate) a TCP server
// that reads and never answers.
struct Server {
    net::io_context& io;
    tcp::acceptor acceptor{io, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)};
    ssl::context ctx{ssl::context::tls_server};
    bool silent;
    bool handshake_done = false;
    std::optional<std::string> sni;  // the name the client sent, if any

    Server(net::io_context& i, const std::string& certificate) : io(i), silent(certificate.empty()) {
        if (silent) return;
        const auto pki = ig::test::core::pki_dir();
        ctx.use_certificate_chain_file((pki / (certificate + ".crt")).string());
        ctx.use_private_key_file((pki / (certificate + ".key")).string(), ssl::context::pem);
    }
    std::uint16_t port() const { return acceptor.local_endpoint().port(); }

    net::awaitable<void> serve_tls() {
        auto [aec, socket] = co_await acceptor.async_accept(use_tuple);
        if (aec) co_return;
        ssl::stream<tcp::socket> stream(std::move(socket), ctx);
        auto [hec] = co_await stream.async_handshake(ssl::stream_base::server, use_tuple);
        if (hec) co_return;
        handshake_done = true;
        if (const char* name = SSL_get_servername(stream.native_handle(), TLSEXT_NAMETYPE_host_name)) sni = name;
    }
    net::awaitable<void> serve_silence() {
        auto [aec, socket] = co_await acceptor.async_accept(use_tuple);
        if (aec) co_return;
        std::array<char, 4096> buf{};
        for (;;) {  // until the client gives up and closes
            auto [ec, n] = co_await socket.async_read_some(net::buffer(buf), use_tuple);
            if (ec) co_return;
        }
    }
};

struct Trust {
    ssl::context ctx{ssl::context::tls_client};
    explicit Trust(bool demo_ca) {
        std::optional<std::filesystem::path> ca;
        if (demo_ca) ca = ig::test::core::pki_dir() / "server-ca.crt";
        BOOST_TEST_REQUIRE(!set_up_tls_client(ctx, ca, TlsTrust::FileOrSystem));
    }
};

// Connects to the server and runs the client handshake for `host`; the server runs alongside.
boost::system::error_code handshake(Server& server, Trust& trust, const std::string& host,
                                    Clock::duration limit = 20s) {
    std::optional<boost::system::error_code> result;
    net::co_spawn(server.io, server.silent ? server.serve_silence() : server.serve_tls(), net::detached);
    auto client = [&]() -> net::awaitable<void> {
        TlsClientStream stream(server.io, trust.ctx);
        auto& tcp_layer = boost::beast::get_lowest_layer(stream);
        tcp_layer.expires_after(20s);
        auto [cec] = co_await tcp_layer.async_connect(server.acceptor.local_endpoint(), use_tuple);
        if (cec) {
            result = cec;
            co_return;
        }
        result = co_await tls_client_handshake(stream, host, ssl::host_name_verification(host), Clock::now() + limit);
        tcp_layer.close();
    };
    net::co_spawn(server.io, client(), net::detached);
    server.io.run_for(60s);
    server.io.restart();
    BOOST_TEST_REQUIRE(result.has_value());
    return *result;
}

bool verify_failed(const boost::system::error_code& ec) {
    return ec.category() == net::error::get_ssl_category() &&
           ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_CERTIFICATE_VERIFY_FAILED;
}

}  // namespace

BOOST_AUTO_TEST_CASE(right_name_verifies_and_is_sent_as_sni) {
    net::io_context io;
    Server server(io, "server");
    Trust trust(true);
    const auto ec = handshake(server, trust, "localhost");
    BOOST_TEST(!ec, ec.message());
    BOOST_TEST(server.handshake_done);
    BOOST_TEST(server.sni.value_or("(none)") == "localhost");
}

BOOST_AUTO_TEST_CASE(an_address_verifies_against_the_ip_san_without_sni) {
    net::io_context io;
    Server server(io, "server");
    Trust trust(true);
    const auto ec = handshake(server, trust, "127.0.0.1");
    BOOST_TEST(!ec, ec.message());
    BOOST_TEST(server.handshake_done);
    BOOST_TEST(!server.sni.has_value());
}

BOOST_AUTO_TEST_CASE(wrong_name_is_refused) {
    net::io_context io;
    // The certificate is from the trusted CA, but names wrong-name.example only.
    Server server(io, "server-wrong-name");
    Trust trust(true);
    const auto ec = handshake(server, trust, "localhost");
    BOOST_TEST(verify_failed(ec), ec.message());
    BOOST_TEST(!server.handshake_done);
}

BOOST_AUTO_TEST_CASE(the_name_the_certificate_holds_verifies) {
    net::io_context io;
    // Control for the test above: the same certificate and CA, asked for the name it holds.
    Server server(io, "server-wrong-name");
    Trust trust(true);
    const auto ec = handshake(server, trust, "wrong-name.example");
    BOOST_TEST(!ec, ec.message());
    BOOST_TEST(server.sni.value_or("(none)") == "wrong-name.example");
}

BOOST_AUTO_TEST_CASE(unknown_ca_is_refused) {
    net::io_context io;
    Server server(io, "server");
    Trust trust(false);  // the system store only: it does not know the demo CA
    const auto ec = handshake(server, trust, "localhost");
    BOOST_TEST(verify_failed(ec), ec.message());
    BOOST_TEST(!server.handshake_done);
}

BOOST_AUTO_TEST_CASE(silent_server_times_out_at_the_deadline) {
    net::io_context io;
    Server server(io, "");
    Trust trust(true);
    const auto start = Clock::now();
    const auto ec = handshake(server, trust, "localhost", 500ms);
    const auto took = Clock::now() - start;
    BOOST_TEST((ec == boost::beast::error::timeout), ec.message());
    BOOST_TEST((took >= 500ms));
    BOOST_TEST((took < 15s));  // generous on a loaded machine; the deadline is what ends it
}

BOOST_AUTO_TEST_CASE(a_ca_file_that_does_not_load_is_an_error) {
    ssl::context ctx{ssl::context::tls_client};
    const std::filesystem::path missing = std::filesystem::path(IG_BINARY_DIR) / "no-such-ca.crt";
    BOOST_TEST(set_up_tls_client(ctx, missing, TlsTrust::SystemAndFile).failed());
    BOOST_TEST(set_up_tls_client(ctx, missing, TlsTrust::FileOrSystem).failed());
    BOOST_TEST(!set_up_tls_client(ctx, ig::test::core::pki_dir() / "server-ca.crt", TlsTrust::FileOrSystem).failed());
}
