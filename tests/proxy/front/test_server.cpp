#define BOOST_TEST_MODULE server
#include <boost/test/unit_test.hpp>

#include "proxy/front/server.hpp"
#include "proxy/runtime.hpp"
#include "proxy/tls/tls_context.hpp"
#include "tests/support/test_pki.hpp"

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <filesystem>
#include <thread>

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

namespace {

const std::filesystem::path& pki() { return ig::test::test_pki(); }

ig::Config make_config(unsigned noid_status) {
    ig::Config c;
    c.listen.address = "127.0.0.1";
    c.listen.port = 0;
    c.workers = 2;
    c.tls.certificate = pki() / "server.crt";
    c.tls.private_key = pki() / "server.key";
    c.tls.client_ca = pki() / "device-ca.crt";
    c.tls.client_certificate_required = false;
    c.intune.tenant_id = "11111111-2222-4333-8444-555555555555";
    c.intune.client_id = "66666666-7777-4888-8999-000000000000";
    c.intune.client_secret.value = "unused";
    c.intune.login_url = c.intune.graph_url = "https://127.0.0.1:9";
    c.upstream.url = "http://127.0.0.1:9";
    c.upstream.host = "127.0.0.1";
    c.upstream.port = 9;
    c.admin.enabled = false;
    auto& noid = c.outcomes[static_cast<std::size_t>(ig::Outcome::NoId)];
    noid.action = ig::Action::Reject;
    noid.status = noid_status;
    return c;
}

// A TLS client without a certificate that keeps its connection.
struct Client {
    net::io_context io;
    ssl::context ctx{ssl::context::tls_client};
    beast::ssl_stream<beast::tcp_stream> stream{io, ctx};
    beast::flat_buffer buffer;

    explicit Client(std::uint16_t port) {
        ctx.load_verify_file((pki() / "server-ca.crt").string());
        stream.set_verify_mode(ssl::verify_peer);
        beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(10));
        beast::get_lowest_layer(stream).connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
        stream.handshake(ssl::stream_base::client);
    }

    http::response<http::string_body> get(const std::string& target) {
        http::request<http::empty_body> req{http::verb::get, target, 11};
        req.set(http::field::host, "localhost");
        req.set("X-Intune-Outcome", "Compliant");
        http::write(stream, req);
        http::response<http::string_body> res;
        http::read(stream, buffer, res);
        return res;
    }
};

struct Fixture {
    net::io_context core_io;
    ig::CoreMetrics core_metrics;
    ig::ProxyMetrics metrics;
    ig::Config config = make_config(401);
    ig::ComplianceService compliance{core_io.get_executor(), config.intune, core_metrics};
};

}  // namespace

BOOST_FIXTURE_TEST_CASE(serves_swaps_and_drains, Fixture) {
    ig::Server server(ig::make_runtime(config), compliance, metrics);
    server.start();
    BOOST_TEST(server.listening());
    BOOST_TEST(server.port() != 0);

    Client first(server.port());
    auto res = first.get("/a");
    BOOST_TEST(res.result_int() == 401u);
    const auto body = nlohmann::json::parse(res.body());
    BOOST_TEST(body["outcome"] == "NoId");
    BOOST_TEST(body["request_id"].get<std::string>().size() == 32u);
    BOOST_TEST(res["X-Request-Id"] == body["request_id"].get<std::string>());
    BOOST_TEST(res.keep_alive());

    // New connections get the new runtime; the open one keeps its own.
    server.swap_runtime(ig::make_runtime(make_config(418)));
    Client second(server.port());
    BOOST_TEST(second.get("/b").result_int() == 418u);
    BOOST_TEST(first.get("/c").result_int() == 401u);
    BOOST_TEST(
        metrics.requests[static_cast<std::size_t>(ig::Outcome::NoId)][static_cast<std::size_t>(ig::Action::Reject)]
            .get() == 3u);
    BOOST_TEST(metrics.handshakes.get() == 2u);
    BOOST_TEST(server.open_connections() == 2u);

    // Draining closes the idle keep-alive connections and stops accepting.
    BOOST_TEST(server.drain(std::chrono::steady_clock::now() + std::chrono::seconds(5)));
    BOOST_TEST(server.open_connections() == 0u);
    BOOST_TEST(!server.listening());
    server.stop();
}

BOOST_FIXTURE_TEST_CASE(max_connections, Fixture) {
    config.limits.max_connections = 1;
    ig::Server server(ig::make_runtime(config), compliance, metrics);
    server.start();
    Client first(server.port());
    BOOST_TEST(first.get("/").result_int() == 401u);
    BOOST_CHECK_THROW(Client second(server.port()), boost::system::system_error);
    BOOST_TEST(first.get("/").result_int() == 401u);
}

BOOST_AUTO_TEST_CASE(bad_files_name_the_file) {
    auto c = make_config(401);
    c.tls.certificate = pki() / "missing.crt";
    try {
        ig::make_runtime(c);
        BOOST_FAIL("no exception");
    } catch (const std::runtime_error& e) {
        BOOST_TEST(std::string(e.what()).find("missing.crt") != std::string::npos);
    }
    c = make_config(401);
    c.tls.private_key = pki() / "device-compliant.key";  // does not match server.crt
    BOOST_CHECK_THROW(ig::make_runtime(c), std::runtime_error);
}
