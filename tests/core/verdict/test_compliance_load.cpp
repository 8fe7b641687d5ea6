#define BOOST_TEST_MODULE compliance_load
#include <boost/test/unit_test.hpp>

#include "core/graph/http_client.hpp"
#include "tests/support/core_env.hpp"

#include <atomic>
#include <thread>
#include <vector>

using namespace ig;
using namespace ig::test::core;

// 1,000 lookups over 10 devices from 8 threads: the cache and single-flight leave Graph with
// exactly one call per device and the identity platform with exactly one token request.
BOOST_AUTO_TEST_CASE(thousand_lookups_ten_devices_eight_threads) {
    Env env;
    std::vector<std::string> ids;
    for (int i = 0; i < 10; ++i) ids.push_back(guid(("35" + std::to_string(10 + i)).c_str()));
    env.svc();

    std::atomic<int> done{0}, hits{0}, wrong{0}, errors{0};
    const auto t0 = Clock::now();
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&, t] {
            for (int i = t; i < 1000; i += 8) {
                const auto& id = ids[static_cast<std::size_t>(i) % ids.size()];
                const bool expect_compliant = (i % 10) % 2 == 1;
                std::optional<Verdict> v = env.svc().cached(id);
                if (v)
                    ++hits;
                else {
                    auto f = env.start(id);
                    if (f.wait_for(std::chrono::seconds(20)) != std::future_status::ready) {
                        ++errors;
                        continue;
                    }
                    v = f.get();
                }
                if (v->outcome == Outcome::Error)
                    ++errors;
                else if ((v->outcome == Outcome::Compliant) != expect_compliant)
                    ++wrong;
                ++done;
            }
        });
    }
    for (auto& th : threads) th.join();
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();

    auto stats = env.emulator.stats();
    int device_calls = 0;
    for (auto& id : ids) device_calls += stats["device_requests"].value(id, 0);
    BOOST_TEST_MESSAGE("1000 lookups in " << ms << " ms: Graph device calls " << device_calls << ", token requests "
                                          << stats["token_requests"] << ", fast-path hits " << hits.load()
                                          << ", graph_requests " << stats["graph_requests"]);
    BOOST_TEST(done.load() == 1000);
    BOOST_TEST(errors.load() == 0);
    BOOST_TEST(wrong.load() == 0);
    BOOST_TEST(device_calls == 10);
    BOOST_TEST(stats["graph_requests"].get<int>() == 10);
    BOOST_TEST(stats["token_requests"].get<int>() == 1);
    BOOST_TEST(env.metrics.cache_hits.get() + env.metrics.cache_misses.get() >= 1000u);
}
