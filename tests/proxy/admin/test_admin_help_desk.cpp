// The admin listener's help-desk endpoints and token, over a real socket on 127.0.0.1: the
// Bearer check (open probes, 401 everywhere else, before any other answer), id validation, the
// cached view, and a refresh whose answer arrives from another thread.
#define BOOST_TEST_MODULE admin_help_desk
#include <boost/test/unit_test.hpp>

#include "proxy/admin/admin.hpp"
#include "proxy/admin/refresh_limit.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <thread>

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

struct Reply {
    unsigned status = 0;
    std::string body;
    std::string www_authenticate;
};

Reply send(std::uint16_t port, http::verb method, const std::string& target, const std::string& authorization = {}) {
    net::io_context ioc;
    beast::tcp_stream stream(ioc);
    stream.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
    http::request<http::empty_body> req{method, target, 11};
    req.set(http::field::host, "127.0.0.1");
    if (!authorization.empty()) req.set(http::field::authorization, authorization);
    req.keep_alive(false);
    http::write(stream, req);
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(stream, buffer, res);
    return {res.result_int(), res.body(), std::string(res[http::field::www_authenticate])};
}

constexpr std::string_view id = "3f2504e0-4f89-41d3-9a0c-0305e82c3302";

struct Fixture {
    std::mutex mutex;
    std::string token = "s3cret-admin-token";
    std::vector<std::string> looked_up, refreshed;
    std::vector<std::thread> threads;

    ig::AdminHandlers handlers() {
        ig::AdminHandlers h;
        h.ready = [] { return true; };
        h.metrics = [] { return std::string("m 1\n"); };
        h.token = [this] {
            std::lock_guard lock(mutex);
            return token;
        };
        h.device = [this](const std::string& device) -> std::optional<ig::DeviceView> {
            std::lock_guard lock(mutex);
            looked_up.push_back(device);
            if (device != id) return std::nullopt;
            return ig::DeviceView{device, "NotCompliant", "noncompliant", "graph", "complianceState noncompliant", 7,
                                  30};
        };
        h.refresh = [this](const std::string& device, std::function<void(ig::DeviceView)> done) {
            std::lock_guard lock(mutex);
            refreshed.push_back(device);
            // The core answers on its own thread, a little later.
            threads.emplace_back([device, done = std::move(done)] {
                std::this_thread::sleep_for(std::chrono::milliseconds(50));
                done(ig::DeviceView{device, "Compliant", "compliant", "graph", "complianceState compliant", 0, 300});
            });
        };
        return h;
    }

    ig::AdminServer server{"127.0.0.1", 0, handlers()};

    ~Fixture() {
        server.stop();
        for (auto& t : threads) t.join();
    }
    std::string bearer() {
        std::lock_guard lock(mutex);
        return "Bearer " + token;
    }
};

}  // namespace

BOOST_FIXTURE_TEST_CASE(token_guards_everything_but_the_probes, Fixture) {
    const auto port = server.port();
    BOOST_TEST(send(port, http::verb::get, "/healthz").status == 200u);
    BOOST_TEST(send(port, http::verb::get, "/readyz").status == 200u);
    for (const std::string& target :
         {std::string("/metrics"), "/devices/" + std::string(id), std::string("/devices/bad"), std::string("/nope")}) {
        auto r = send(port, http::verb::get, target);
        BOOST_TEST(r.status == 401u, target);
        BOOST_TEST(r.www_authenticate == "Bearer realm=\"intune-gate admin\"");
        BOOST_TEST(r.body.find(token) == std::string::npos);
    }
    BOOST_TEST(send(port, http::verb::post, "/devices/" + std::string(id) + "/refresh").status == 401u);
    for (const std::string bad : {"Bearer s3cret-admin-toke", "Bearer s3cret-admin-tokenX", "Bearer ",
                                  "Basic s3cret-admin-token", "s3cret-admin-token", "Bearer  s3cret-admin-token"})
        BOOST_TEST(send(port, http::verb::get, "/metrics", bad).status == 401u, bad);
    BOOST_TEST(send(port, http::verb::get, "/metrics", bearer()).status == 200u);
    BOOST_TEST(send(port, http::verb::get, "/metrics", "bearer s3cret-admin-token").status == 200u);
    BOOST_TEST(looked_up.empty());
    BOOST_TEST(refreshed.empty());
    // No token configured: open (the listener must then be kept private).
    {
        std::lock_guard lock(mutex);
        token.clear();
    }
    BOOST_TEST(send(port, http::verb::get, "/metrics").status == 200u);
}

BOOST_FIXTURE_TEST_CASE(device_lookup_and_refresh, Fixture) {
    const auto port = server.port();
    for (const std::string bad :
         {"not-a-guid", "3f2504e0-4f89-41d3-9a0c-0305e82c330", "3f2504e0-4f89-41d3-9a0c-0305e82c3302x", "%3Cscript%3E",
          "3f2504e0%2D4f89-41d3-9a0c-0305e82c3302"}) {
        BOOST_TEST(send(port, http::verb::get, "/devices/" + bad, bearer()).status == 400u, bad);
        BOOST_TEST(send(port, http::verb::post, "/devices/" + bad + "/refresh", bearer()).status == 400u, bad);
    }
    BOOST_TEST(send(port, http::verb::get, "/devices/", bearer()).status == 404u);
    BOOST_TEST(send(port, http::verb::get, "/devices/" + std::string(id) + "/other", bearer()).status == 404u);
    BOOST_TEST(looked_up.empty());

    auto r = send(port, http::verb::get, "/devices/3F2504E0-4F89-41D3-9A0C-0305E82C3302", bearer());
    BOOST_TEST(r.status == 200u);
    BOOST_TEST(nlohmann::json::parse(r.body) == (nlohmann::json{{"device_id", id},
                                                                {"outcome", "NotCompliant"},
                                                                {"compliance_state", "noncompliant"},
                                                                {"source", "graph"},
                                                                {"age_s", 7},
                                                                {"ttl_s", 30},
                                                                {"reason", "complianceState noncompliant"}}));
    BOOST_TEST(send(port, http::verb::get, "/devices/3f2504e0-4f89-41d3-9a0c-0305e82c3399", bearer()).status == 404u);
    BOOST_TEST((looked_up == std::vector<std::string>{std::string(id), "3f2504e0-4f89-41d3-9a0c-0305e82c3399"}));

    BOOST_TEST(send(port, http::verb::get, "/devices/" + std::string(id) + "/refresh", bearer()).status == 405u);
    BOOST_TEST(send(port, http::verb::post, "/devices/" + std::string(id), bearer()).status == 405u);
    BOOST_TEST(refreshed.empty());
    r = send(port, http::verb::post, "/devices/" + std::string(id) + "/refresh", bearer());
    BOOST_TEST(r.status == 200u);
    auto j = nlohmann::json::parse(r.body);
    BOOST_TEST(j["outcome"] == "Compliant");
    BOOST_TEST(j["ttl_s"] == 300);
    BOOST_TEST(j["device_id"] == id);
    std::lock_guard lock(mutex);
    BOOST_TEST((refreshed == std::vector<std::string>{std::string(id)}));
}

// Issue 26 #8: 2,000 refreshes in 0.21 s were 2,000 Graph calls. Now one refresh per device per
// 10 s and 20 at once overall (2 a second after that): the rest get 429 with Retry-After.
BOOST_FIXTURE_TEST_CASE(refreshes_are_rate_limited, Fixture) {
    const auto port = server.port();
    auto refresh = [&](const std::string& device) {
        net::io_context ioc;
        beast::tcp_stream stream(ioc);
        stream.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
        http::request<http::empty_body> req{http::verb::post, "/devices/" + device + "/refresh", 11};
        req.set(http::field::host, "127.0.0.1");
        req.set(http::field::authorization, bearer());
        http::write(stream, req);
        beast::flat_buffer buffer;
        http::response<http::string_body> res;
        http::read(stream, buffer, res);
        return std::pair{res.result_int(), std::string(res[http::field::retry_after])};
    };
    const auto start = std::chrono::steady_clock::now();
    BOOST_TEST(refresh(std::string(id)).first == 200u);
    auto again = refresh(std::string(id));  // the same device at once
    BOOST_TEST(again.first == 429u);
    BOOST_TEST(!again.second.empty());
    int ok = 1, limited = 1;
    for (int i = 0; i < 60; ++i) {
        char other[40];
        std::snprintf(other, sizeof other, "5e000000-0000-4000-8000-%012x", i);
        auto [status, retry_after] = refresh(other);
        if (status == 200u) ++ok;
        if (status == 429u) {
            ++limited;
            BOOST_TEST(std::stoi(retry_after) >= 1);
        }
    }
    // The burst of 20, and what the bucket refilled (2 a second) while this ran, however slow the
    // machine (under ASan on a busy one, the 62 requests took more than a second).
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    BOOST_TEST(ok <= 20 + static_cast<int>(2 * elapsed) + 1);
    if (elapsed < 15) BOOST_TEST(limited > 1);  // the budget, not only the per-device rule, refused some
    BOOST_TEST(ok + limited == 62);
    std::lock_guard lock(mutex);
    BOOST_TEST(refreshed.size() == static_cast<std::size_t>(ok));
}

BOOST_AUTO_TEST_CASE(limiter_refills_and_forgets) {
    ig::RefreshLimiter limiter({std::chrono::milliseconds(1000), 2, 3});
    const auto t0 = ig::RefreshLimiter::Clock::now();
    BOOST_TEST(!limiter.admit("a", t0));
    BOOST_TEST(!limiter.admit("b", t0));
    BOOST_TEST(!limiter.admit("c", t0));
    BOOST_TEST(limiter.admit("d", t0).value_or(std::chrono::seconds(0)).count() == 1);  // the burst of 3 is spent
    BOOST_TEST(limiter.admit("a", t0 + std::chrono::milliseconds(500)).value_or(std::chrono::seconds(0)).count() == 1);
    BOOST_TEST(!limiter.admit("d", t0 + std::chrono::milliseconds(600)));  // 1.2 refilled
    BOOST_TEST(!limiter.admit("a", t0 + std::chrono::milliseconds(1600)));  // a's second passed, 1 refilled
}
