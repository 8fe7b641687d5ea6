#define BOOST_TEST_MODULE version
#include <boost/test/unit_test.hpp>

#include "core/policy/version.hpp"

using namespace ig;

namespace {
// reported (as Intune writes it) >= minimum (as a policy writes it)
bool at_least(std::string_view reported, std::string_view minimum) {
    auto v = comparable_version(reported);
    return v && compare_versions(*v, minimum) >= 0;
}
}  // namespace

BOOST_AUTO_TEST_CASE(intune_formats_per_platform) {
    BOOST_TEST(*comparable_version("10.0.22631.4460") == "10.0.22631.4460");
    BOOST_TEST(*comparable_version("14.5 (23F79)") == "14.5");
    BOOST_TEST(*comparable_version("17.5.1") == "17.5.1");
    BOOST_TEST(*comparable_version("14") == "14");
    BOOST_TEST(!comparable_version(""));
    BOOST_TEST(!comparable_version("Unknown"));
    BOOST_TEST(!comparable_version(" 14"));
    BOOST_TEST(!comparable_version(".5"));
}

BOOST_AUTO_TEST_CASE(numeric_by_parts_not_text) {
    BOOST_TEST(at_least("10.0.22631.4460", "10.0.22631"));
    BOOST_TEST(!at_least("10.0.19045.1", "10.0.22631"));
    BOOST_TEST(at_least("14.10", "14.9"));  // text would say 14.10 < 14.9
    BOOST_TEST(!at_least("9.1", "10"));  // text would say "9.1" > "10"
    BOOST_TEST(at_least("14.5 (23F79)", "14.5"));
    BOOST_TEST(!at_least("13.6.1", "14.5"));
    BOOST_TEST(at_least("14", "14.0"));
    BOOST_TEST(at_least("14.0", "14"));
    BOOST_TEST(!at_least("14", "14.0.1"));
    BOOST_TEST(at_least("17.5.1", "17.5"));
    BOOST_TEST(at_least("014.05", "14.5"));
    BOOST_TEST(at_least("99999999999999999999999.1", "99999999999999999999999"));
    BOOST_TEST(!at_least("99999999999999999999998", "99999999999999999999999"));
    BOOST_TEST(at_least("1", "0"));
    BOOST_TEST(!at_least("Unknown", "0"));
}

BOOST_AUTO_TEST_CASE(plain_versions) {
    for (auto good : {"0", "14", "14.5", "10.0.22631"}) BOOST_TEST(is_plain_version(good), good);
    for (auto bad : {"", ".", "14.", ".14", "14..5", "14.5a", "v14", " 14", "14 "})
        BOOST_TEST(!is_plain_version(bad), bad);
}
