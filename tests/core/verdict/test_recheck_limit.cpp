// How often "Check again" may ask Graph per device (README: `intune.recheck_interval_s`), and that
// the table behind it stays bounded whatever number of device IDs clients bring.
#define BOOST_TEST_MODULE recheck_limit
#include <boost/test/unit_test.hpp>

#include "core/verdict/recheck_limit.hpp"

#include <ostream>
#include <string>

using namespace ig;
using Admit = RecheckLimiter::Admit;
using namespace std::chrono_literals;

namespace ig {
std::ostream& operator<<(std::ostream& o, RecheckLimiter::Admit a) { return o << static_cast<int>(a); }
}  // namespace ig

namespace {
const auto t0 = RecheckLimiter::Clock::time_point{} + 1000s;
}  // namespace

BOOST_AUTO_TEST_CASE(once_per_interval_per_device) {
    RecheckLimiter l;
    BOOST_TEST(l.admit("a", 60s, t0) == Admit::Now);
    BOOST_TEST(l.admit("a", 60s, t0 + 1s) == Admit::TooSoon);
    BOOST_TEST(l.admit("a", 60s, t0 + 59s) == Admit::TooSoon);
    BOOST_TEST(l.admit("b", 60s, t0 + 59s) == Admit::Now);  // per device
    BOOST_TEST(l.admit("a", 60s, t0 + 60s) == Admit::Now);
    BOOST_TEST(l.admit("a", 60s, t0 + 61s) == Admit::TooSoon);
    BOOST_TEST(l.admit("b", 60s, t0 + 119s) == Admit::Now);
}

BOOST_AUTO_TEST_CASE(bounded_whatever_the_ids) {
    RecheckLimiter l(100);
    for (int i = 0; i < 100; ++i) BOOST_TEST(l.admit("dev" + std::to_string(i), 60s, t0) == Admit::Now);
    // Full of devices within their interval: refused, and nothing more is remembered.
    for (int i = 100; i < 10000; ++i)
        BOOST_TEST_REQUIRE(l.admit("dev" + std::to_string(i), 60s, t0 + 1s) == Admit::Full);
    BOOST_TEST(l.size() == 100u);
    BOOST_TEST(l.admit("dev5", 60s, t0 + 1s) == Admit::TooSoon);  // a full table still limits the ones in it
    // Their interval passed: room again, and the old ones are gone.
    BOOST_TEST(l.admit("new", 60s, t0 + 60s) == Admit::Now);
    BOOST_TEST(l.size() == 1u);
    // A steady stream of new devices never grows it past what one interval holds.
    for (int i = 0; i < 100000; ++i) l.admit("s" + std::to_string(i), 60s, t0 + 60s + i * 1s);
    BOOST_TEST(l.size() <= 60u);
}

BOOST_AUTO_TEST_CASE(a_shorter_interval_after_a_reload_applies) {
    RecheckLimiter l;
    BOOST_TEST(l.admit("a", 3600s, t0) == Admit::Now);
    BOOST_TEST(l.admit("a", 10s, t0 + 11s) == Admit::Now);
    BOOST_TEST(l.admit("a", 10s, t0 + 12s) == Admit::TooSoon);
    BOOST_TEST(l.size() == 1u);
}
