#define BOOST_TEST_MODULE verdict_cache
#include <boost/test/unit_test.hpp>

#include "core/verdict/verdict_cache.hpp"

#include <atomic>
#include <thread>
#include <vector>

using namespace ig;
using namespace std::chrono_literals;

namespace {
Verdict verdict(Outcome o, std::string state) {
    Verdict v;
    v.outcome = o;
    v.compliance_state = std::move(state);
    v.graph_ms = 12;
    return v;
}
}  // namespace

BOOST_AUTO_TEST_CASE(hit_until_ttl_then_miss) {
    Gauge size;
    VerdictCache cache(10, &size);
    const auto t0 = VerdictCache::Clock::now();
    cache.put("a", verdict(Outcome::Compliant, "compliant"), 1000ms, t0);
    auto hit = cache.get("a", t0 + 999ms);
    BOOST_REQUIRE(hit.has_value());
    BOOST_TEST(hit->cache_hit);
    BOOST_TEST(hit->graph_ms == 0);
    BOOST_TEST(hit->compliance_state == "compliant");
    BOOST_TEST(size.get() == 1);
    BOOST_TEST(!cache.get("a", t0 + 1000ms).has_value());
    BOOST_TEST(size.get() == 0);
    BOOST_TEST(!cache.get("b", t0).has_value());
}

BOOST_AUTO_TEST_CASE(zero_ttl_stores_nothing) {
    VerdictCache cache(10);
    cache.put("a", verdict(Outcome::NotCompliant, "noncompliant"), 0ms);
    BOOST_TEST(cache.size() == 0u);
}

BOOST_AUTO_TEST_CASE(bounded_evicts_least_recently_used) {
    Gauge size;
    VerdictCache cache(3, &size);
    cache.put("a", verdict(Outcome::Compliant, "1"), 60s);
    cache.put("b", verdict(Outcome::Compliant, "2"), 60s);
    cache.put("c", verdict(Outcome::Compliant, "3"), 60s);
    BOOST_TEST(cache.get("a").has_value());  // a is now the most recent
    cache.put("d", verdict(Outcome::Compliant, "4"), 60s);
    BOOST_TEST(cache.size() == 3u);
    BOOST_TEST(size.get() == 3);
    BOOST_TEST(!cache.get("b").has_value());
    BOOST_TEST(cache.get("a").has_value());
    BOOST_TEST(cache.get("c").has_value());
    BOOST_TEST(cache.get("d").has_value());
    cache.put("d", verdict(Outcome::NotCompliant, "5"), 60s);  // replace, no growth
    BOOST_TEST(cache.size() == 3u);
    BOOST_TEST(cache.get("d")->compliance_state == "5");
    cache.set_max_entries(1);
    BOOST_TEST(cache.size() == 1u);
    cache.clear();
    BOOST_TEST(cache.size() == 0u);
    BOOST_TEST(size.get() == 0);
}

BOOST_AUTO_TEST_CASE(concurrent_use_is_safe) {
    VerdictCache cache(64);
    std::atomic<int> wrong{0};  // Boost.Test assertions are not thread-safe
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t)
        threads.emplace_back([&cache, &wrong, t] {
            for (int i = 0; i < 20000; ++i) {
                const auto id = std::to_string((i * 7 + t) % 100);
                if (i % 3 == 0)
                    cache.put(id, verdict(Outcome::Compliant, id), 60s);
                else if (auto v = cache.get(id); v && v->compliance_state != id)
                    ++wrong;
            }
        });
    for (auto& th : threads) th.join();
    BOOST_TEST(wrong.load() == 0);
    BOOST_TEST(cache.size() <= 64u);
}

BOOST_AUTO_TEST_CASE(inspect_shows_age_ttl_and_source_without_using_the_entry) {
    VerdictCache cache(2);
    const auto t0 = VerdictCache::Clock::now();
    auto v = verdict(Outcome::NotCompliant, "noncompliant");
    v.source = VerdictSource::Graph;
    const std::int64_t ms0 = 1'700'000'000'000;  // when Graph answered (Unix ms)
    v.fetched_at_ms = ms0;
    cache.put("a", v, 30s, t0);
    cache.put("b", verdict(Outcome::Compliant, "compliant"), 300s, t0);
    auto seen = cache.inspect("a", t0 + 12500ms, ms0 + 12500);
    BOOST_REQUIRE(seen.has_value());
    BOOST_TEST(seen->age_s == 12);
    BOOST_TEST(seen->ttl_s == 17);  // what is left of the 30 s
    BOOST_TEST(seen->verdict.compliance_state == "noncompliant");
    BOOST_TEST(to_string(seen->verdict.source) == "graph");
    BOOST_TEST(!seen->verdict.cache_hit);
    // inspect() did not make "a" the most recently used: a third entry evicts it.
    cache.put("c", verdict(Outcome::Compliant, "compliant"), 300s, t0);
    BOOST_TEST(!cache.inspect("a", t0).has_value());
    BOOST_TEST(cache.inspect("b", t0).has_value());
    // Expired: nothing.
    BOOST_TEST(!cache.inspect("b", t0 + 300s).has_value());
}

BOOST_AUTO_TEST_CASE(erase_drops_one_entry) {
    Gauge size;
    VerdictCache cache(10, &size);
    const auto t0 = VerdictCache::Clock::now();
    cache.put("a", verdict(Outcome::NotCompliant, "noncompliant"), 30s, t0);
    cache.put("b", verdict(Outcome::Compliant, "compliant"), 30s, t0);
    BOOST_TEST(cache.erase("a"));
    BOOST_TEST(!cache.erase("a"));
    BOOST_TEST(!cache.get("a", t0).has_value());
    BOOST_TEST(cache.get("b", t0).has_value());
    BOOST_TEST(size.get() == 1);
}

BOOST_AUTO_TEST_CASE(stale_answer_only_up_to_its_max_age) {
    VerdictCache cache(10);
    const auto t0 = VerdictCache::Clock::now();
    const std::int64_t ms0 = 1'700'000'000'000;  // when Graph answered (Unix ms)
    auto v = verdict(Outcome::Compliant, "compliant");
    v.fetched_at_ms = ms0;
    cache.put("a", v, 1s, t0);
    auto stale = cache.get_stale("a", 8000, ms0 + 8000);
    BOOST_REQUIRE(stale.has_value());
    BOOST_TEST(to_string(stale->source) == "stale");
    BOOST_TEST(*stale->stale_age_s == 8);
    // One millisecond older than stale_if_error allows: nothing (docs/testing.md, stale-max-age).
    BOOST_TEST(!cache.get_stale("a", 8000, ms0 + 8001).has_value());
    // Error is never a last known verdict.
    auto e = verdict(Outcome::Error, "");
    e.fetched_at_ms = ms0;
    cache.put("b", e, 1s, t0);
    BOOST_TEST(!cache.get_stale("b", 8000, ms0 + 1).has_value());
}
