// Issue 26: what the compliance core spends on Microsoft and what it believes of an answer: a
// device body about another device, a token lifetime of 0, Graph's back-off remembered between
// lookups, and the bound on concurrent Graph connections. The in-process emulator counts calls.
#define BOOST_TEST_MODULE compliance_budget
#include <boost/test/unit_test.hpp>

#include "tests/support/core_env.hpp"

#include <cstdio>
#include <future>
#include <string>
#include <thread>
#include <vector>

using namespace ig;
using namespace ig::test::core;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_CASE(an_answer_about_another_device_is_an_error) {
    Env env;
    // The body for 3311 says it is 3301 (compliant): fail closed.
    env.emulator.set_device(guid("3311"), device(guid("3301"), "compliant"));
    auto v = env.check(guid("3311"));
    BOOST_TEST(to_string(v.outcome) == "Error");
    BOOST_TEST_MESSAGE("reason: " << v.reason);
    BOOST_TEST(v.reason.find("another device") != std::string::npos);
    // The same id in capitals is the same device.
    auto upper = device(guid("3313"), "compliant");
    upper["id"] = "3F2504E0-4F89-41D3-9A0C-0305E82C3313";
    env.emulator.set_device(guid("3313"), upper);
    BOOST_TEST(to_string(env.check(guid("3313")).outcome) == "Compliant");
    BOOST_TEST(to_string(env.check(guid("3301")).outcome) == "Compliant");
}

BOOST_AUTO_TEST_CASE(a_token_lifetime_of_zero_is_kept_ten_seconds) {
    Env env;
    env.emulator.set_token_lifetime(0);
    for (const char* n : {"3301", "3302", "3303", "3304", "3305"}) env.check(guid(n));
    // The emulator holds its zero-lifetime token expired, so Graph's first 401 costs one new
    // token; without the floor every lookup would fetch one (5 or more).
    BOOST_TEST(env.stat("token_requests") <= 2);
}

// Issue 26 #10: Graph's Retry-After is remembered for the tenant: lookups until then fail fast
// without a Graph call, and a device with a last known verdict gets it (stale_if_error_s).
BOOST_AUTO_TEST_CASE(retry_after_is_remembered_and_stale_answers_stand_in) {
    Env env;
    env.config.cache.compliant_ttl = std::chrono::seconds(1);
    env.config.stale_if_error = std::chrono::seconds(600);
    BOOST_TEST(to_string(env.check(guid("3301")).outcome) == "Compliant");
    std::this_thread::sleep_for(1100ms);
    env.emulator.set_fault("*", {{"status", 429}, {"retry_after", 30}});
    env.emulator.reset_stats();
    auto first = env.check(guid("3301"));  // Graph says 429, Retry-After 30: the old verdict stands in
    BOOST_TEST(to_string(first.outcome) == "Compliant");
    BOOST_TEST(first.stale_age_s.has_value());
    BOOST_TEST(env.device_requests(guid("3301")) == 1);
    for (int i = 0; i < 20; ++i) {
        auto v = env.check(guid(i % 2 ? "3302" : "3301"));
        BOOST_TEST(to_string(v.outcome) == (i % 2 ? "Error" : "Compliant"));
        if (i % 2) BOOST_TEST(v.reason.find("back off") != std::string::npos, v.reason);
    }
    BOOST_TEST(env.device_requests(guid("3301")) == 1);
    BOOST_TEST(env.device_requests(guid("3302")) == 0);
    BOOST_TEST(env.metrics.graph_held.get() == 20u);
}

// Without a Retry-After (503 after the retries of one request): a few seconds' hold, then Graph
// is asked again.
BOOST_AUTO_TEST_CASE(an_outage_is_held_briefly_then_asked_again) {
    Env env;
    env.config.timeout = std::chrono::milliseconds(1500);
    env.emulator.set_fault("*", {{"status", 503}, {"retry_after", 0}});
    BOOST_TEST(to_string(env.check(guid("3301")).outcome) == "Error");
    const int after_first = env.device_requests(guid("3301"));
    BOOST_TEST(after_first >= 2);  // retried inside the deadline
    for (int i = 0; i < 10; ++i) BOOST_TEST(to_string(env.check(guid("3301")).outcome) == "Error");
    BOOST_TEST(env.device_requests(guid("3301")) == after_first);  // was 5 calls a request
    env.emulator.clear_faults();
    std::this_thread::sleep_for(5100ms);
    BOOST_TEST(to_string(env.check(guid("3301")).outcome) == "Compliant");
}

// Issue 26 #14: 800 first lookups of distinct devices at once opened 800 TLS connections to Graph.
// With intune.max_graph_connections 4 the emulator sees at most 4, and every lookup is answered.
BOOST_AUTO_TEST_CASE(concurrent_first_lookups_share_a_few_connections) {
    Env env;
    env.config.max_graph_connections = 4;
    env.config.timeout = std::chrono::milliseconds(20000);
    std::vector<std::future<Verdict>> lookups;
    for (int i = 0; i < 120; ++i) {
        char id[40];
        std::snprintf(id, sizeof id, "5e000000-0000-4000-8000-%012x", i);
        lookups.push_back(env.start(id));
    }
    int answered = 0;
    for (auto& f : lookups) {
        BOOST_TEST_REQUIRE((f.wait_for(60s) == std::future_status::ready));
        const auto v = f.get();
        if (v.outcome != Outcome::Error)
            ++answered;
        else
            BOOST_TEST_MESSAGE("error: " << v.reason);
    }
    BOOST_TEST(answered == 120);
    BOOST_TEST_MESSAGE("TLS connections accepted: " << env.stat("connections"));
    BOOST_TEST(env.stat("connections") <= 4);
    BOOST_TEST(env.stat("connections") >= 1);
}

// Issue 26 #8: the help desk's refresh of devices nothing is cached for (random IDs) asks Graph
// without caching the answer: the real verdicts stay.
BOOST_AUTO_TEST_CASE(uncached_lookups_leave_the_cache_alone) {
    Env env;
    env.config.cache.max_entries = 4;
    for (const char* n : {"3301", "3302", "3303", "3304"}) env.check(guid(n));
    for (int i = 0; i < 20; ++i) {
        char id[40];
        std::snprintf(id, sizeof id, "5e000000-0000-4000-8000-%012x", i);
        std::promise<Verdict> p;
        env.svc().look_up_uncached(id, [&p](Verdict v) { p.set_value(std::move(v)); });
        auto f = p.get_future();
        BOOST_TEST_REQUIRE((f.wait_for(20s) == std::future_status::ready));
        BOOST_TEST(to_string(f.get().outcome) == "NotCompliant");  // device not found
    }
    for (const char* n : {"3301", "3302", "3303", "3304"}) BOOST_TEST(env.svc().inspect(guid(n)).has_value(), n);
    BOOST_TEST(env.device_requests(guid("3301")) == 1);
    // It does ask Graph each time (that is what a refresh is for).
    std::promise<Verdict> p;
    env.svc().look_up_uncached(guid("3301"), [&p](Verdict v) { p.set_value(std::move(v)); });
    BOOST_TEST(to_string(p.get_future().get().outcome) == "Compliant");
    BOOST_TEST(env.device_requests(guid("3301")) == 2);
}
