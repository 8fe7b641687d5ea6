#define BOOST_TEST_MODULE compliance
#include <boost/test/unit_test.hpp>

#include "core/graph/http_client.hpp"
#include "tests/support/core_env.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>

using namespace ig;
using namespace ig::test::core;
using namespace std::chrono_literals;
using Ms = std::chrono::milliseconds;

namespace {
double elapsed_ms(Clock::time_point since) {
    return std::chrono::duration<double, std::milli>(Clock::now() - since).count();
}
}  // namespace

BOOST_AUTO_TEST_CASE(every_compliance_state_gives_its_outcome) {
    Env env;
    const std::tuple<const char*, const char*, const char*> cases[] = {
        {"3301", "Compliant", "compliant"},
        {"3302", "NotCompliant", "noncompliant"},
        {"3303", "InGracePeriod", "inGracePeriod"},
        {"3304", "ConfigManager", "configManager"},
        {"3305", "Conflict", "conflict"},
        {"3306", "StatusUnknown", "unknown"},
        {"3307", "Error", "error"},
        {"330a", "StatusUnknown", "someFutureState"},
        {"3308", "NotCompliant", ""},
    };
    for (auto& [n, outcome, state] : cases) {
        BOOST_TEST_CONTEXT("device " << n) {
            auto v = env.check(guid(n));
            BOOST_TEST(to_string(v.outcome) == outcome);
            BOOST_TEST(v.compliance_state == state);
            BOOST_TEST(!v.cache_hit);
            BOOST_TEST(!v.reason.empty());
        }
    }
    BOOST_TEST(env.stat("token_requests") == 1);
    BOOST_TEST(env.stat("connections") == 1);  // login and Graph share one origin here: one kept-alive connection
    BOOST_TEST((env.svc().token_ok() == std::optional<bool>(true)));
    BOOST_TEST(env.metrics.graph_calls_by_status[200].get() == 8u);
    BOOST_TEST(env.metrics.graph_calls_by_status[404].get() == 1u);
}

BOOST_AUTO_TEST_CASE(device_not_found_can_name_another_outcome) {
    Env env;
    env.config.device_not_found = Outcome::StatusUnknown;
    BOOST_TEST(to_string(env.check(guid("3308")).outcome) == "StatusUnknown");
}

BOOST_AUTO_TEST_CASE(token_refused_is_error_without_the_secret) {
    Env env;
    env.config.client_secret.value = "wrong-s3cret+/= x";
    auto v = env.check(guid("3301"));
    BOOST_TEST(to_string(v.outcome) == "Error");
    BOOST_TEST_MESSAGE("reason: " << v.reason);
    BOOST_TEST(v.reason.find("token request refused: invalid_client: AADSTS") != std::string::npos);
    BOOST_TEST(v.reason.find("wrong-s3cret") == std::string::npos);
    BOOST_TEST(v.reason.find("Trace ID") == std::string::npos);
    BOOST_TEST(v.reason.find_first_of("\r\n") == std::string::npos);
    BOOST_TEST((env.svc().token_ok() == std::optional<bool>(false)));
    BOOST_TEST(env.stat("graph_requests") == 0);
    BOOST_TEST(env.metrics.token_failures.get() == 1u);
    // The Error verdict is not cached, but the refusal is held for a few seconds: the next lookup
    // gets the same answer without another token request (a wrong secret must not hammer login).
    auto again = env.check(guid("3302"));
    BOOST_TEST(to_string(again.outcome) == "Error");
    BOOST_TEST(again.reason == v.reason);
    BOOST_TEST(env.stat("token_requests") == 1);
}

BOOST_AUTO_TEST_CASE(token_refusal_hold_ends) {
    Env env;
    env.config.client_secret.value = "wrong-s3cret+/= x";
    BOOST_TEST(to_string(env.check(guid("3301")).outcome) == "Error");
    BOOST_TEST(env.stat("token_requests") == 1);
    // The refusal is held for 5 s; after it, the next lookup asks login again (a fixed secret would
    // be picked up) instead of refusing forever.
    std::this_thread::sleep_for(5500ms);
    BOOST_TEST(to_string(env.check(guid("3302")).outcome) == "Error");
    BOOST_TEST(env.stat("token_requests") == 2);
    BOOST_TEST(env.metrics.token_failures.get() == 2u);
}

BOOST_AUTO_TEST_CASE(token_is_refreshed_before_it_expires) {
    Env env;
    env.emulator.set_token_lifetime(10);  // refreshed 10% early: after 9 s
    BOOST_TEST(to_string(env.check(guid("3301")).outcome) == "Compliant");
    BOOST_TEST(env.stat("token_requests") == 1);
    env.check(guid("3302"));  // well within the lifetime: the same token
    BOOST_TEST(env.stat("token_requests") == 1);
    // Past the refresh point the token is renewed although it is still valid for Graph. (On a machine
    // so slow that this sleep ends past 10 s the renewal is due anyway: the test cannot fail falsely.)
    std::this_thread::sleep_for(9200ms);
    BOOST_TEST(to_string(env.check(guid("3303")).outcome) == "InGracePeriod");
    BOOST_TEST(env.stat("token_requests") == 2);
    BOOST_TEST(env.device_requests(guid("3303")) == 1);  // no 401 round trip: the new token was sent
}

BOOST_AUTO_TEST_CASE(wrong_password_is_refused) {
    Env env;
    env.config.auth = AuthMode::Password;
    env.config.password.value = "not the p@ss";
    auto v = env.check(guid("3301"));
    BOOST_TEST(to_string(v.outcome) == "Error");
    BOOST_TEST_MESSAGE("reason: " << v.reason);
    BOOST_TEST(v.reason.find("invalid_grant") != std::string::npos);
    BOOST_TEST(v.reason.find("not the p@ss") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(all_three_grants_are_accepted) {
    for (auto mode : {AuthMode::ClientSecret, AuthMode::Certificate, AuthMode::Password}) {
        BOOST_TEST_CONTEXT("auth mode " << static_cast<int>(mode)) {
            Env env;
            env.config.auth = mode;
            auto v = env.check(guid("3301"));
            BOOST_TEST(to_string(v.outcome) == "Compliant");
            BOOST_TEST(v.reason.find("AADSTS") == std::string::npos, v.reason);
            auto s = env.emulator.stats();
            BOOST_TEST(s["token_requests"].get<int>() == 1);
            BOOST_TEST(s["by_grant"].value(mode == AuthMode::Password ? "password" : "client_credentials", 0) == 1);
        }
    }
}

BOOST_AUTO_TEST_CASE(revoked_token_is_refreshed_once) {
    Env env;
    BOOST_TEST(to_string(env.check(guid("3301")).outcome) == "Compliant");
    env.emulator.revoke_tokens();
    auto v = env.check(guid("3302"));
    BOOST_TEST(to_string(v.outcome) == "NotCompliant");
    BOOST_TEST(env.stat("token_requests") == 2);
    BOOST_TEST(env.device_requests(guid("3302")) == 2);  // the 401, then the answer
}

BOOST_AUTO_TEST_CASE(expired_token_is_refreshed) {
    Env env;
    env.emulator.set_token_lifetime(1);
    BOOST_TEST(to_string(env.check(guid("3301")).outcome) == "Compliant");
    std::this_thread::sleep_for(1100ms);
    BOOST_TEST(to_string(env.check(guid("3302")).outcome) == "NotCompliant");
    BOOST_TEST(env.stat("token_requests") == 2);
}

BOOST_AUTO_TEST_CASE(too_many_requests_with_retry_after_is_answered) {
    Env env;
    env.check(guid("3302"));  // token and connection ready
    env.emulator.set_fault(guid("3301"), {{"status", 429}, {"retry_after", 1}, {"times", 1}});
    const auto t0 = Clock::now();
    auto v = env.check(guid("3301"));
    BOOST_TEST(to_string(v.outcome) == "Compliant");
    BOOST_TEST(elapsed_ms(t0) >= 950);  // Retry-After honoured
    BOOST_TEST(env.device_requests(guid("3301")) == 2);
    BOOST_TEST(env.metrics.graph_calls_by_status[429].get() == 1u);
}

// Bounds in these tests are far from what the product is allowed, on purpose (a loaded CI machine,
// ASan): each one is what the fault would cost if the behaviour under test were missing.
BOOST_AUTO_TEST_CASE(retry_after_past_the_deadline_gives_up_now) {
    Env env;
    env.config.timeout = 3000ms;
    env.emulator.set_fault(guid("3301"), {{"status", 429}, {"retry_after", 60}});
    const auto t0 = Clock::now();
    auto v = env.check(guid("3301"));
    BOOST_TEST(to_string(v.outcome) == "Error");
    BOOST_TEST(v.reason.find("429") != std::string::npos, v.reason);
    BOOST_TEST(elapsed_ms(t0) < 30000);  // it did not wait for the 60 s Graph asked for
    BOOST_TEST(env.device_requests(guid("3301")) == 1);  // and did not retry sooner than Graph allowed
}

BOOST_AUTO_TEST_CASE(service_unavailable_then_ok_is_answered) {
    Env env;
    env.emulator.set_fault(guid("3303"), {{"status", 503}, {"times", 2}});
    auto v = env.check(guid("3303"));
    BOOST_TEST(to_string(v.outcome) == "InGracePeriod");
    BOOST_TEST(env.device_requests(guid("3303")) == 3);
}

BOOST_AUTO_TEST_CASE(dropped_connection_is_retried) {
    Env env;
    env.emulator.set_fault(guid("3301"), {{"drop", true}, {"times", 1}});
    BOOST_TEST(to_string(env.check(guid("3301")).outcome) == "Compliant");
}

BOOST_AUTO_TEST_CASE(persistent_5xx_is_error_within_timeout) {
    Env env;
    env.config.timeout = 1500ms;
    env.check(guid("3302"));  // token fetched outside the measured lookup
    // Each 500 takes 1 s: within the 1.5 s deadline at most two attempts can start; without the
    // deadline all six would (about 6 s).
    env.emulator.set_fault("*", {{"status", 500}, {"latency_ms", 1000}});
    const auto t0 = Clock::now();
    auto v = env.check(guid("3301"));
    BOOST_TEST(to_string(v.outcome) == "Error");
    BOOST_TEST(elapsed_ms(t0) < 5000);
    BOOST_TEST(env.device_requests(guid("3301")) >= 1);
    BOOST_TEST(env.device_requests(guid("3301")) <= 2);
}

BOOST_AUTO_TEST_CASE(persistent_5xx_is_retried) {
    Env env;
    env.config.timeout = 30000ms;
    env.emulator.set_fault("*", {{"status", 500}});
    auto v = env.check(guid("3301"));
    BOOST_TEST(to_string(v.outcome) == "Error");
    BOOST_TEST(env.device_requests(guid("3301")) == 6);  // every attempt the policy allows, then Error
}

BOOST_AUTO_TEST_CASE(latency_over_timeout_is_error_within_timeout) {
    Env env;
    env.config.timeout = 600ms;
    env.check(guid("3302"));  // token fetched outside the measured lookup
    env.emulator.set_fault(guid("3301"), {{"latency_ms", 30000}});
    const auto t0 = Clock::now();
    auto v = env.check(guid("3301"));
    const double took = elapsed_ms(t0);
    BOOST_TEST_MESSAGE("timed out after " << took << " ms: " << v.reason);
    BOOST_TEST(to_string(v.outcome) == "Error");
    BOOST_TEST(took >= 550);  // a timer does not fire early
    BOOST_TEST(took < 15000);  // long before Graph's 30 s answer
    BOOST_TEST(v.reason.find("timed out") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(non_json_and_missing_state_are_errors_and_not_cached) {
    Env env;
    env.emulator.set_fault(guid("3301"), {{"non_json", true}, {"times", 1}});
    auto v = env.check(guid("3301"));
    BOOST_TEST(to_string(v.outcome) == "Error");
    BOOST_TEST_MESSAGE("non-json: " << v.reason);
    env.emulator.set_fault(guid("3301"), {{"no_state", true}, {"times", 1}});
    v = env.check(guid("3301"));
    BOOST_TEST(to_string(v.outcome) == "Error");
    BOOST_TEST(v.reason.find("complianceState") != std::string::npos);
    BOOST_TEST(!env.svc().cached(guid("3301")).has_value());
    v = env.check(guid("3301"));
    BOOST_TEST(to_string(v.outcome) == "Compliant");
    BOOST_TEST(env.device_requests(guid("3301")) == 3);
}

BOOST_AUTO_TEST_CASE(hostile_deep_json_is_error_not_a_crash) {
    // A device body with a value nested a million arrays deep crashed the core thread when the
    // device was saved; the apps page and an error body are parsed the same way.
    Env env;
    env.config.save_device_properties = true;
    env.config.save_installed_apps = true;
    env.emulator.set_fault(guid("3301"), {{"deep_json", 1'000'000}, {"times", 1}});
    auto v = env.check(guid("3301"));
    BOOST_TEST(to_string(v.outcome) == "Error");
    BOOST_TEST(v.reason.find("JSON nested deeper than 64 levels") != std::string::npos, v.reason);
    BOOST_TEST(!env.svc().cached(guid("3301")).has_value());

    env.emulator.set_fault(guid("3401"), {{"deep_json", 1'000'000}, {"apps_only", true}});
    v = env.check(guid("3401"));
    BOOST_TEST(to_string(v.outcome) == "Compliant");  // an apps failure does not change the outcome
    BOOST_TEST(!v.apps_json.has_value());
    BOOST_TEST(env.metrics.apps_failures.get() == 1u);

    env.emulator.set_fault(guid("3302"), {{"deep_json", 1'000'000}, {"status", 403}, {"times", 1}});
    v = env.check(guid("3302"));
    BOOST_TEST(to_string(v.outcome) == "Error");
    // The body could not be read, so its OData code is missing; the rest of the reason stands.
    BOOST_TEST(v.reason.rfind("Intune denied access (HTTP 403", 0) == 0, v.reason);
    BOOST_TEST(v.reason.find("Authorization_RequestDenied") == std::string::npos, v.reason);

    env.emulator.clear_faults();
    v = env.check(guid("3301"));
    BOOST_TEST(to_string(v.outcome) == "Compliant");
    BOOST_TEST(!v.device_json.empty());
}

BOOST_AUTO_TEST_CASE(cached_compliant_needs_no_graph_call) {
    Env env;
    BOOST_TEST(!env.svc().cached(guid("3301")).has_value());
    env.check(guid("3301"));
    env.check(guid("3302"));
    env.emulator.reset_stats();
    auto v = env.check(guid("3301"));
    BOOST_TEST(to_string(v.outcome) == "Compliant");
    BOOST_TEST(v.cache_hit);
    auto fast = env.svc().cached(guid("3301"));
    BOOST_REQUIRE(fast.has_value());
    BOOST_TEST(fast->cache_hit);
    BOOST_TEST(to_string(env.svc().cached(guid("3302"))->outcome) == "NotCompliant");
    BOOST_TEST(env.stat("graph_requests") == 0);
    BOOST_TEST(env.stat("token_requests") == 0);
}

BOOST_AUTO_TEST_CASE(short_ttl_expires) {
    Env env;
    env.config.cache.other_ttl = 1s;
    env.check(guid("3302"));
    BOOST_TEST(env.svc().cached(guid("3302")).has_value());
    std::this_thread::sleep_for(1100ms);
    BOOST_TEST(!env.svc().cached(guid("3302")).has_value());
    env.check(guid("3302"));
    BOOST_TEST(env.device_requests(guid("3302")) == 2);
}

BOOST_AUTO_TEST_CASE(fifty_concurrent_lookups_share_one_call) {
    Env env;
    env.emulator.set_fault(guid("3309"), {{"latency_ms", 200}, {"times", 1}});
    std::vector<std::future<Verdict>> futures;
    for (int i = 0; i < 50; ++i) futures.push_back(env.start(guid("3309")));
    for (auto& f : futures) {
        BOOST_REQUIRE(f.wait_for(10s) == std::future_status::ready);
        BOOST_TEST(to_string(f.get().outcome) == "Compliant");
    }
    BOOST_TEST(env.device_requests(guid("3309")) == 1);
    BOOST_TEST(env.stat("token_requests") == 1);
}

BOOST_AUTO_TEST_CASE(concurrent_token_misses_share_one_request) {
    Env env;
    std::vector<std::future<Verdict>> futures;
    for (auto n : {"3301", "3302", "3303", "3304", "3305"}) futures.push_back(env.start(guid(n)));
    for (auto& f : futures) BOOST_REQUIRE(f.wait_for(10s) == std::future_status::ready);
    BOOST_TEST(env.stat("token_requests") == 1);
    BOOST_TEST(env.stat("graph_requests") == 5);
}

BOOST_AUTO_TEST_CASE(installed_apps_over_three_pages) {
    Env env;
    env.config.save_installed_apps = true;
    auto v = env.check(guid("3401"));
    BOOST_TEST(to_string(v.outcome) == "Compliant");
    BOOST_REQUIRE(v.apps_json.has_value());
    auto apps = nlohmann::json::parse(*v.apps_json);
    BOOST_TEST(apps.size() == 5u);
    BOOST_TEST(apps[4] == app("e"));
    BOOST_TEST(env.stat("app_requests") == 3);
}

BOOST_AUTO_TEST_CASE(next_link_to_another_host_is_not_followed) {
    Env env;
    env.config.save_installed_apps = true;
    auto v = env.check(guid("3402"));
    BOOST_TEST(to_string(v.outcome) == "Compliant");  // an apps failure does not change the outcome
    BOOST_TEST(!v.apps_json.has_value());
    BOOST_TEST(env.stat("app_requests") == 1);
    BOOST_TEST(env.metrics.apps_failures.get() == 1u);
}

BOOST_AUTO_TEST_CASE(device_properties_saved) {
    Env env;
    env.config.save_device_properties = true;
    env.config.device_properties = {"deviceName", "serialNumber"};
    auto v = env.check(guid("3301"));
    auto props = nlohmann::json::parse(v.device_json);
    BOOST_TEST(props == (nlohmann::json{{"deviceName", "pc-3301"}, {"serialNumber", "SN3301"}}));
}

BOOST_AUTO_TEST_CASE(untrusted_graph_certificate_is_error) {
    Env env;
    env.config.ca_file = pki_dir() / "other-ca.crt";
    const auto t0 = Clock::now();
    auto v = env.check(guid("3301"));
    BOOST_TEST(to_string(v.outcome) == "Error");
    BOOST_TEST_MESSAGE("reason: " << v.reason);
    BOOST_TEST(v.reason.find("handshake") != std::string::npos);
    BOOST_TEST(env.metrics.token_fetches.get() == 1u);  // a certificate that does not verify is not retried
    BOOST_TEST(elapsed_ms(t0) < 30000);
}

BOOST_AUTO_TEST_CASE(hostile_device_id_is_refused_without_graph) {
    Env env;
    auto v = env.check("../../me\r\nX: 1");
    BOOST_TEST(to_string(v.outcome) == "Error");
    BOOST_TEST(env.stat("graph_requests") == 0);
    BOOST_TEST(to_string(env.check("3F2504E0-4F89-41D3-9A0C-0305E82C3301").outcome) == "Compliant");
}

BOOST_AUTO_TEST_CASE(http_client_reuses_connections) {
    Env env;
    HttpClient http(HttpClientOptions{pki_dir() / "server-ca.crt"});
    auto run = [&](std::string url) {
        auto where = parse_url(url);
        HttpRequest req{boost::beast::http::verb::get, where.origin, where.target, {}, {}};
        return boost::asio::co_spawn(env.io, http.request(req, Clock::now() + 3s), boost::asio::use_future).get();
    };
    const auto url = env.emulator.origin() + "/v1.0/deviceManagement/managedDevices/" + guid("3301");
    auto a = run(url);
    BOOST_TEST(a.ok(), a.error_text());
    BOOST_TEST(a.response.status == 401u);  // no token: an OData error, but an HTTP answer
    auto b = run(url);
    BOOST_TEST(b.ok());
    BOOST_TEST(http.connections_opened() == 1u);
    BOOST_TEST(http.idle_connections() == 1u);
    // The pooled connection is closed by the server before it answers: retried once on a new one.
    env.emulator.set_fault(guid("3301"), {{"drop", true}, {"times", 1}});
    auto c = run(url);
    BOOST_TEST(c.ok(), c.error_text());
    BOOST_TEST(c.response.status == 401u);
    BOOST_TEST(http.connections_opened() == 2u);
    BOOST_TEST(env.stat("connections") == 2);
    auto bad = run("http://127.0.0.1:1/plain");
    BOOST_TEST(!bad.ok());
    http.close_idle();
    BOOST_TEST(http.idle_connections() == 0u);
}

BOOST_AUTO_TEST_CASE(reconfigure_keeps_token_and_cache_when_unchanged) {
    Env env;
    env.check(guid("3301"));
    env.svc().reconfigure(env.config);
    auto v = env.check(guid("3301"));
    BOOST_TEST(v.cache_hit);
    auto changed = env.config;
    changed.device_not_found = Outcome::Conflict;
    env.svc().reconfigure(changed);
    BOOST_TEST(to_string(env.check(guid("3308")).outcome) == "Conflict");
    BOOST_TEST(!env.check(guid("3301")).cache_hit);  // verdict settings changed: cache dropped
    BOOST_TEST(env.stat("token_requests") == 1);  // the token was kept
}
