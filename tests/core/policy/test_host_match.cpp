#define BOOST_TEST_MODULE host_match
#include <boost/test/unit_test.hpp>

#include "core/policy/host_match.hpp"

using namespace ig;

namespace {
bool fits(std::string_view host_header, std::string_view pattern) {
    auto h = request_host(host_header);
    BOOST_REQUIRE_MESSAGE(h, std::string(host_header));
    BOOST_REQUIRE(!host_pattern_problem(pattern));
    return host_fits(*h, make_host_pattern(pattern));
}
}  // namespace

BOOST_AUTO_TEST_CASE(request_hosts_lose_port_case_and_trailing_dot) {
    BOOST_TEST(*request_host("Admin.Example.COM:8443") == "admin.example.com");
    BOOST_TEST(*request_host("admin.example.com.") == "admin.example.com");
    BOOST_TEST(*request_host("admin.example.com.:443") == "admin.example.com");
    BOOST_TEST(*request_host("[::1]:8443") == "[::1]");
    BOOST_TEST(*request_host("127.0.0.1:80") == "127.0.0.1");
    BOOST_TEST(!request_host("admin.example.com.."));
    BOOST_TEST(!request_host("adm%69n.example.com"));
    BOOST_TEST(!request_host(""));
    BOOST_TEST(!request_host(".example.com"));
    BOOST_TEST(!request_host("a..example.com"));
    BOOST_TEST(!request_host("[::1"));
}

BOOST_AUTO_TEST_CASE(exact_names_ignore_case_and_port) {
    BOOST_TEST(fits("ADMIN.example.com:443", "admin.example.com"));
    BOOST_TEST(fits("admin.example.com.", "Admin.Example.com"));
    BOOST_TEST(!fits("xadmin.example.com", "admin.example.com"));
    BOOST_TEST(!fits("admin.example.com.evil.net", "admin.example.com"));
}

BOOST_AUTO_TEST_CASE(wildcards_fit_names_below_not_the_apex) {
    BOOST_TEST(fits("a.ops.example.com", "*.ops.example.com"));
    BOOST_TEST(fits("a.b.ops.example.com", "*.ops.example.com"));
    BOOST_TEST(fits("A.OPS.example.com.:8443", "*.ops.example.com"));
    BOOST_TEST(!fits("ops.example.com", "*.ops.example.com"));
    BOOST_TEST(!fits("xops.example.com", "*.ops.example.com"));
    BOOST_TEST(!fits("ops.example.com.evil", "*.ops.example.com"));
}

BOOST_AUTO_TEST_CASE(patterns_that_are_not_one_of_the_forms) {
    for (auto bad : {"", "*", "*.", "a.*.com", "**.a.com", "a.com:443", "a..com", ".a.com", "a.com.", "a b.com",
                     "http://a.com", "a.com/x", "*a.com"})
        BOOST_TEST(host_pattern_problem(bad).has_value(), bad);
    for (auto good : {"a.com", "*.a.com", "localhost", "Admin.Example.com", "my_host.lan"})
        BOOST_TEST(!host_pattern_problem(good).has_value(), good);
}
