#define BOOST_TEST_MODULE metrics_render
#include <boost/test/unit_test.hpp>

#include "proxy/admin/admin.hpp"
#include "proxy/admin/metrics_render.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <cstring>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

// A strict-enough reader of the text format: every sample line is `name{labels} value`, every
// family has HELP and TYPE before its first sample, and no series appears twice.
struct Exposition {
    std::map<std::string, double> samples;  // "name{labels}" -> value
    std::map<std::string, std::string> types;
    std::set<std::string> helps;

    explicit Exposition(const std::string& text) {
        BOOST_REQUIRE(!text.empty());
        BOOST_REQUIRE(text.back() == '\n');
        std::istringstream in(text);
        for (std::string line; std::getline(in, line);) {
            BOOST_REQUIRE(!line.empty());
            if (line.rfind("# HELP ", 0) == 0) {
                helps.insert(line.substr(7, line.find(' ', 7) - 7));
                continue;
            }
            if (line.rfind("# TYPE ", 0) == 0) {
                std::istringstream t(line.substr(7));
                std::string name, type;
                t >> name >> type;
                BOOST_TEST((type == "counter" || type == "gauge" || type == "histogram"));
                BOOST_TEST(!types.count(name), "family twice: " << name);
                types[name] = type;
                continue;
            }
            BOOST_REQUIRE(line[0] != '#');
            const auto space = line.rfind(' ');
            BOOST_REQUIRE(space != std::string::npos);
            const std::string series = line.substr(0, space);
            const std::string value = line.substr(space + 1);
            std::string family = series.substr(0, series.find('{'));
            for (const char* suffix : {"_bucket", "_sum", "_count"})
                if (!types.count(family) && family.size() > std::strlen(suffix) &&
                    family.compare(family.size() - std::strlen(suffix), std::string::npos, suffix) == 0)
                    family.resize(family.size() - std::strlen(suffix));
            BOOST_TEST(types.count(family), "sample before its TYPE: " << line);
            BOOST_TEST(helps.count(family), "sample before its HELP: " << line);
            BOOST_TEST(!samples.count(series), "series twice: " << series);
            std::size_t used = 0;
            samples[series] = std::stod(value, &used);
            BOOST_TEST(used == value.size(), "bad value in: " << line);
        }
    }
    double at(const std::string& series) const {
        auto it = samples.find(series);
        BOOST_REQUIRE_MESSAGE(it != samples.end(), "no series " << series);
        return it->second;
    }
    bool has(const std::string& series) const { return samples.count(series) != 0; }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(render)

BOOST_AUTO_TEST_CASE(zero_state_is_complete_and_well_formed) {
    ig::CoreMetrics core;
    ig::ProxyMetrics proxy;
    Exposition e(ig::render_metrics(core, proxy));
    BOOST_TEST(e.types.at("intune_gate_requests_total") == "counter");
    BOOST_TEST(e.types.at("intune_gate_graph_latency_seconds") == "histogram");
    BOOST_TEST(e.types.at("intune_gate_open_connections") == "gauge");
    BOOST_TEST(e.types.at("intune_gate_cache_entries") == "gauge");
    for (const char* name :
         {"intune_gate_token_fetches_total", "intune_gate_token_failures_total", "intune_gate_cache_hits_total",
          "intune_gate_cache_misses_total", "intune_gate_upstream_errors_total", "intune_gate_log_lines_dropped_total",
          "intune_gate_open_connections", "intune_gate_cache_entries"})
        BOOST_TEST(e.at(name) == 0);
    // every outcome x action pair is present, so rate() works from the first scrape
    BOOST_TEST(e.at("intune_gate_requests_total{outcome=\"Error\",action=\"redirect\"}") == 0);
    BOOST_TEST(e.at("intune_gate_tls_handshake_failures_total{reason=\"unknown_ca\"}") == 0);
    BOOST_TEST(e.at("intune_gate_graph_latency_seconds_bucket{le=\"+Inf\"}") == 0);
    BOOST_TEST(e.at("intune_gate_graph_latency_seconds_count") == 0);
    BOOST_TEST(e.at("intune_gate_token_ok") == -1);
}

BOOST_AUTO_TEST_CASE(values_match_the_counters) {
    ig::CoreMetrics core;
    ig::ProxyMetrics proxy;
    proxy.count_request(ig::Outcome::Compliant, ig::Action::Forward);
    proxy.count_request(ig::Outcome::Compliant, ig::Action::Forward);
    proxy.count_request(ig::Outcome::NotCompliant, ig::Action::Redirect);
    proxy.count_request(ig::Outcome::NoId, ig::Action::Reject);
    proxy.handshake_failures[static_cast<std::size_t>(ig::HandshakeFailure::Expired)].inc(3);
    proxy.handshakes.inc(7);
    proxy.open_connections.set(5);
    proxy.upstream_errors.inc(2);
    proxy.rejected_requests.inc(4);
    core.count_graph_call(200);
    core.count_graph_call(200);
    core.count_graph_call(429);
    core.count_graph_call(0);
    core.count_graph_call(9999);  // out of range counts as "no HTTP answer"
    core.token_fetches.inc(3);
    core.token_failures.inc(1);
    core.cache_hits.inc(10);
    core.cache_misses.inc(6);
    core.cache_size.set(42);
    core.apps_failures.inc(1);
    ig::MetricsExtra extra;
    extra.log_lines_dropped = 9;
    extra.reloads = 2;
    extra.reload_failures = 1;
    extra.token_ok = true;
    extra.start_time_seconds = 1790000000.5;

    Exposition e(ig::render_metrics(core, proxy, extra));
    BOOST_TEST(e.at("intune_gate_requests_total{outcome=\"Compliant\",action=\"forward\"}") == 2);
    BOOST_TEST(e.at("intune_gate_requests_total{outcome=\"NotCompliant\",action=\"redirect\"}") == 1);
    BOOST_TEST(e.at("intune_gate_requests_total{outcome=\"NoId\",action=\"reject\"}") == 1);
    BOOST_TEST(e.at("intune_gate_requests_total{outcome=\"Compliant\",action=\"reject\"}") == 0);
    BOOST_TEST(e.at("intune_gate_requests_rejected_total") == 4);
    BOOST_TEST(e.at("intune_gate_tls_handshake_failures_total{reason=\"expired\"}") == 3);
    BOOST_TEST(e.at("intune_gate_tls_handshakes_total") == 7);
    BOOST_TEST(e.at("intune_gate_open_connections") == 5);
    BOOST_TEST(e.at("intune_gate_upstream_errors_total") == 2);
    BOOST_TEST(e.at("intune_gate_graph_calls_total{status=\"200\"}") == 2);
    BOOST_TEST(e.at("intune_gate_graph_calls_total{status=\"429\"}") == 1);
    BOOST_TEST(e.at("intune_gate_graph_calls_total{status=\"none\"}") == 2);
    BOOST_TEST(!e.has("intune_gate_graph_calls_total{status=\"500\"}"));
    BOOST_TEST(e.at("intune_gate_token_fetches_total") == 3);
    BOOST_TEST(e.at("intune_gate_token_failures_total") == 1);
    BOOST_TEST(e.at("intune_gate_token_ok") == 1);
    BOOST_TEST(e.at("intune_gate_cache_hits_total") == 10);
    BOOST_TEST(e.at("intune_gate_cache_misses_total") == 6);
    BOOST_TEST(e.at("intune_gate_cache_entries") == 42);
    BOOST_TEST(e.at("intune_gate_installed_apps_failures_total") == 1);
    BOOST_TEST(e.at("intune_gate_log_lines_dropped_total") == 9);
    BOOST_TEST(e.at("intune_gate_config_reloads_total") == 2);
    BOOST_TEST(e.at("intune_gate_config_reload_failures_total") == 1);
    BOOST_TEST(e.at("intune_gate_start_time_seconds") == 1790000000.5);
}

BOOST_AUTO_TEST_CASE(authz_checks_by_result) {
    ig::CoreMetrics core;
    ig::ProxyMetrics proxy;
    proxy.count_authz(ig::AuthzResult::Allowed);
    proxy.count_authz(ig::AuthzResult::Allowed);
    proxy.count_authz(ig::AuthzResult::UntrustedPeer);
    proxy.count_authz(ig::AuthzResult::CertificateNotVerified);
    proxy.authz_open_connections.set(3);
    Exposition e(ig::render_metrics(core, proxy, ig::MetricsExtra{}));
    BOOST_TEST(e.at("intune_gate_authz_checks_total{result=\"allowed\"}") == 2);
    BOOST_TEST(e.at("intune_gate_authz_checks_total{result=\"untrusted_peer\"}") == 1);
    BOOST_TEST(e.at("intune_gate_authz_checks_total{result=\"certificate_not_verified\"}") == 1);
    // Every result is there from the start, zeros included.
    for (auto name : ig::authz_result_names)
        BOOST_TEST(e.has("intune_gate_authz_checks_total{result=\"" + std::string(name) + "\"}"));
    BOOST_TEST(e.at("intune_gate_authz_checks_total{result=\"no_certificate\"}") == 0);
    BOOST_TEST(e.at("intune_gate_authz_open_connections") == 3);
}

BOOST_AUTO_TEST_CASE(histogram_is_cumulative) {
    ig::CoreMetrics core;
    ig::ProxyMetrics proxy;
    for (double s : {0.001, 0.004, 0.02, 0.3, 0.3, 1.0, 45.0}) core.graph_latency.observe(s);
    Exposition e(ig::render_metrics(core, proxy));
    const std::string b = "intune_gate_graph_latency_seconds_bucket";
    BOOST_TEST(e.at(b + "{le=\"0.005\"}") == 2);
    BOOST_TEST(e.at(b + "{le=\"0.01\"}") == 2);
    BOOST_TEST(e.at(b + "{le=\"0.025\"}") == 3);
    BOOST_TEST(e.at(b + "{le=\"0.25\"}") == 3);
    BOOST_TEST(e.at(b + "{le=\"0.5\"}") == 5);
    BOOST_TEST(e.at(b + "{le=\"1\"}") == 6);  // le is inclusive
    BOOST_TEST(e.at(b + "{le=\"30\"}") == 6);
    BOOST_TEST(e.at(b + "{le=\"+Inf\"}") == 7);
    BOOST_TEST(e.at("intune_gate_graph_latency_seconds_count") == 7);
    BOOST_TEST(e.at("intune_gate_graph_latency_seconds_sum") == 46.625, boost::test_tools::tolerance(1e-6));
    // buckets never decrease
    double last = 0;
    for (double bound : ig::Histogram::bounds) {
        std::ostringstream le;
        le << bound;
        const double v = e.at(b + "{le=\"" + le.str() + "\"}");
        BOOST_TEST(v >= last);
        last = v;
    }
}

BOOST_AUTO_TEST_SUITE_END()

// The admin listener, which serves the render: tested here with a real socket on 127.0.0.1.
BOOST_AUTO_TEST_SUITE(admin_listener)

namespace {

struct Reply {
    unsigned status = 0;
    std::string content_type;
    std::string body;
    bool keep_alive = false;
};

class Client {
public:
    explicit Client(std::uint16_t port) : stream_(ioc_) {
        stream_.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    }
    Reply send(http::verb method, std::string target, int version = 11) {
        http::request<http::empty_body> req{method, target, version};
        req.set(http::field::host, "127.0.0.1");
        http::write(stream_, req);
        http::response_parser<http::string_body> parser;
        if (method == http::verb::head) parser.skip(true);
        http::read(stream_, buffer_, parser);
        auto& res = parser.get();
        return {res.result_int(), std::string(res[http::field::content_type]), res.body(), res.keep_alive()};
    }
    beast::tcp_stream& stream() { return stream_; }
    // Everything the server sends until it closes, or until the deadline (ec == timeout).
    std::string read_until_close(beast::error_code& ec, std::chrono::seconds deadline = std::chrono::seconds(5)) {
        std::string got;
        stream_.expires_after(deadline);
        net::async_read(stream_, net::dynamic_buffer(got), [&](beast::error_code e, std::size_t) { ec = e; });
        ioc_.restart();
        ioc_.run();
        return got;
    }

private:
    net::io_context ioc_;
    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
};

Reply get(std::uint16_t port, const std::string& target) { return Client(port).send(http::verb::get, target); }

// The admin server under test. Its per-read timeout is long by default, so that a slow machine never
// races it; the tests about that timeout use ShortTimeout.
struct Fixture {
    explicit Fixture(std::chrono::milliseconds timeout = std::chrono::seconds(60))
        : server{"127.0.0.1", 0,
                 ig::AdminHandlers{[this] { return ready.load(); },
                                   [this]() -> std::optional<bool> {
                                       const int t = token.load();
                                       return t < 0 ? std::nullopt : std::optional<bool>(t == 1);
                                   },
                                   [this] {
                                       ++scrapes;
                                       return ig::render_metrics(core, proxy);
                                   }},
                 ig::AdminLimits{timeout, 4, 8192}} {}
    std::atomic<bool> ready{false};
    std::atomic<int> token{-1};  // -1 not tried, 0 failing, 1 ok
    std::atomic<int> scrapes{0};
    ig::CoreMetrics core;
    ig::ProxyMetrics proxy;
    ig::AdminServer server;
};

struct ShortTimeout : Fixture {
    ShortTimeout() : Fixture(std::chrono::milliseconds(500)) {}
};

}  // namespace

BOOST_FIXTURE_TEST_CASE(healthz_readyz_metrics, Fixture) {
    const auto port = server.port();
    BOOST_REQUIRE(port != 0);
    auto h = get(port, "/healthz");
    BOOST_TEST(h.status == 200u);
    BOOST_TEST(h.body == "ok\n");

    auto r = get(port, "/readyz");
    BOOST_TEST(r.status == 503u);
    BOOST_TEST(nlohmann::json::parse(r.body)["ready"] == false);
    BOOST_TEST(nlohmann::json::parse(r.body)["token"] == "not_tried");

    ready = true;
    r = get(port, "/readyz");
    BOOST_TEST(r.status == 200u);
    BOOST_TEST(r.content_type == "application/json");
    BOOST_TEST(nlohmann::json::parse(r.body)["ready"] == true);
    token = 0;
    BOOST_TEST(nlohmann::json::parse(get(port, "/readyz").body)["token"] == "failing");
    token = 1;
    BOOST_TEST(nlohmann::json::parse(get(port, "/readyz?verbose").body)["token"] == "ok");

    proxy.count_request(ig::Outcome::Conflict, ig::Action::Reject);
    core.cache_hits.inc(3);
    auto m = get(port, "/metrics");
    BOOST_TEST(m.status == 200u);
    BOOST_TEST(m.content_type == "text/plain; version=0.0.4; charset=utf-8");
    Exposition e(m.body);
    BOOST_TEST(e.at("intune_gate_requests_total{outcome=\"Conflict\",action=\"reject\"}") == 1);
    BOOST_TEST(e.at("intune_gate_cache_hits_total") == 3);
}

BOOST_FIXTURE_TEST_CASE(unknown_paths_and_methods, Fixture) {
    const auto port = server.port();
    BOOST_TEST(get(port, "/").status == 404u);
    BOOST_TEST(get(port, "/metrics/../etc/passwd").status == 404u);
    BOOST_TEST(get(port, "/healthz/x").status == 404u);
    Client c(port);
    BOOST_TEST(c.send(http::verb::post, "/metrics").status == 405u);
    BOOST_TEST(c.send(http::verb::delete_, "/readyz").status == 405u);
    const int before = scrapes;
    auto head = c.send(http::verb::head, "/metrics");
    BOOST_TEST(head.status == 200u);
    BOOST_TEST(head.body.empty());
    BOOST_TEST(scrapes == before + 1);
}

BOOST_FIXTURE_TEST_CASE(keep_alive_and_close, Fixture) {
    Client c(server.port());
    for (int i = 0; i < 5; ++i) {
        auto r = c.send(http::verb::get, "/healthz");
        BOOST_TEST(r.status == 200u);
        BOOST_TEST(r.keep_alive);
    }
    Client old(server.port());
    auto r = old.send(http::verb::get, "/healthz", 10);  // HTTP/1.0: answered, then closed
    BOOST_TEST(r.status == 200u);
    BOOST_TEST(!r.keep_alive);
}

BOOST_FIXTURE_TEST_CASE(garbage_and_oversized_requests_are_cut_off, ShortTimeout) {
    const auto port = server.port();
    for (const std::string& junk : {std::string("NOT HTTP AT ALL\r\n\r\n"),
                                    "GET /healthz HTTP/1.1\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n",
                                    std::string("GET /healthz HTTP/1.1\r\nContent-Length: 999999\r\n\r\n")}) {
        Client c(port);
        beast::error_code ec;
        net::write(c.stream(), net::buffer(junk), ec);
        const auto got = c.read_until_close(ec, std::chrono::seconds(60));
        BOOST_TEST(ec == net::error::eof);  // closed by the server, not our deadline
        BOOST_TEST(got.find("200 OK") == std::string::npos);
    }
    BOOST_TEST(get(port, "/healthz").status == 200u);  // still serving
}

BOOST_FIXTURE_TEST_CASE(idle_connections_time_out, ShortTimeout) {
    Client c(server.port());
    BOOST_TEST(c.send(http::verb::get, "/healthz").status == 200u);
    beast::error_code ec;
    const auto start = std::chrono::steady_clock::now();
    c.read_until_close(ec, std::chrono::seconds(60));  // the server closes after its 500 ms timeout
    const auto waited = std::chrono::steady_clock::now() - start;
    BOOST_TEST(ec == net::error::eof);  // closed by the server, not by our 60 s deadline
    BOOST_TEST(waited >= std::chrono::milliseconds(400));  // by the timeout, not at once
}

BOOST_FIXTURE_TEST_CASE(connection_cap_evicts_the_oldest_idle_and_recovers, Fixture) {
    // Four kept-alive connections, each answered once: the server holds all of them (cap 4).
    std::vector<std::unique_ptr<Client>> idle;
    for (int i = 0; i < 4; ++i) {
        idle.push_back(std::make_unique<Client>(server.port()));
        BOOST_REQUIRE(idle.back()->send(http::verb::get, "/healthz").status == 200u);
    }
    // Full of idle connections, a probe still gets through: the one idle the longest gives way
    // (docs/hostile-clients.md, "The admin listener").
    Client extra(server.port());
    BOOST_TEST(extra.send(http::verb::get, "/healthz").status == 200u);
    beast::error_code ec;
    const auto got = idle[0]->read_until_close(ec, std::chrono::seconds(60));
    BOOST_TEST(ec != beast::error_code(beast::error::timeout), ec.message());  // closed by the server
    BOOST_TEST(got.empty());
    BOOST_TEST(idle[1]->send(http::verb::get, "/healthz").status == 200u);  // the others still work
    idle.clear();
    // Once the server has seen them go, a new connection is served again.
    unsigned status = 0;
    for (int i = 0; i < 300 && status != 200u; ++i) {
        try {
            status = get(server.port(), "/healthz").status;
        } catch (const std::exception&) {
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    }
    BOOST_TEST(status == 200u);
}

BOOST_AUTO_TEST_CASE(stop_is_idempotent_and_frees_the_port) {
    std::uint16_t port = 0;
    {
        ig::AdminServer s{"127.0.0.1", 0, {}};
        port = s.port();
        BOOST_TEST(get(port, "/readyz").status == 503u);  // no ready callback: never ready
        BOOST_TEST(get(port, "/metrics").status == 200u);
        s.stop();
        s.stop();
    }
    ig::AdminServer again{"127.0.0.1", port, {}};  // the port can be bound again at once
    BOOST_TEST(again.port() == port);
    BOOST_CHECK_THROW((ig::AdminServer{"127.0.0.1", port, {}}), boost::system::system_error);
    BOOST_CHECK_THROW((ig::AdminServer{"not-an-address", 0, {}}), boost::system::system_error);
}

BOOST_AUTO_TEST_SUITE_END()
