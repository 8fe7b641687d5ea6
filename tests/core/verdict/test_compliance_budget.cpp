// Issue 26: what the compliance core spends on Microsoft and what it believes of an answer: a
// device body about another device, a token lifetime of 0, Graph's back-off remembered between
// lookups, and the bound on concurrent Graph connections. The in-process emulator counts calls.
#define BOOST_TEST_MODULE compliance_budget
#include <boost/test/unit_test.hpp>

#include "tests/support/core_env.hpp"

#include <future>
#include <string>
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

BOOST_AUTO_TEST_CASE(a_token_lifetime_of_zero_is_kept_a_minute) {
    Env env;
    env.emulator.set_token_lifetime(0);
    for (const char* n : {"3301", "3302", "3303", "3304", "3305"}) env.check(guid(n));
    BOOST_TEST(env.stat("token_requests") == 1);
}
