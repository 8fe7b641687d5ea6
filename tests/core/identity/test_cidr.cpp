#define BOOST_TEST_MODULE cidr
#include <boost/test/unit_test.hpp>

#include "core/identity/cidr.hpp"

#include <string>

namespace ip = boost::asio::ip;

namespace {

ig::Cidr must_parse(std::string_view text) {
    std::string problem;
    auto c = ig::parse_cidr(text, problem);
    BOOST_REQUIRE_MESSAGE(c, std::string(text) + ": " + problem);
    return *c;
}

std::string problem_of(std::string_view text) {
    std::string problem;
    auto c = ig::parse_cidr(text, problem);
    BOOST_TEST(!c, text);
    return problem;
}

bool in(std::string_view cidr, const char* peer) { return ig::contains(must_parse(cidr), ip::make_address(peer)); }

}  // namespace

BOOST_AUTO_TEST_CASE(parses_networks_and_single_addresses) {
    auto v4 = must_parse("10.0.0.0/8");
    BOOST_TEST(v4.text == "10.0.0.0/8");
    BOOST_TEST(std::get<ip::network_v4>(v4.network).prefix_length() == 8);
    auto v6 = must_parse("fd00::/8");
    BOOST_TEST(std::get<ip::network_v6>(v6.network).prefix_length() == 8);
    BOOST_TEST(std::get<ip::network_v4>(must_parse("192.0.2.7").network).prefix_length() == 32);
    BOOST_TEST(std::get<ip::network_v6>(must_parse("::1").network).prefix_length() == 128);
    BOOST_TEST(std::get<ip::network_v4>(must_parse("0.0.0.0/0").network).prefix_length() == 0);
    BOOST_TEST((must_parse("10.0.0.0/8") == must_parse("10.0.0.0/8")));
    BOOST_TEST(!(must_parse("10.0.0.0/8") == must_parse("10.0.0.0/9")));
}

BOOST_AUTO_TEST_CASE(refuses_what_is_not_a_network) {
    for (auto text :
         {"proxy.local", "", "/8", "10.0.0/8", "10.0.0.256/32", "010.0.0.0/8", "fe80::1%eth0/128", "1.2.3.4 /32"})
        BOOST_TEST(problem_of(text).find("is not a CIDR") == 0u, text);
    for (auto text : {"10.0.0.0/33", "fd00::/129", "10.0.0.0/", "10.0.0.0/+8", "10.0.0.0/8x", "10.0.0.0/-1"})
        BOOST_TEST(problem_of(text).find("invalid prefix length") != std::string::npos, text);
    BOOST_TEST(problem_of("10.0.0.1/8") == "has bits set past its prefix length");
    BOOST_TEST(problem_of("fd00::1/64") == "has bits set past its prefix length");
}

BOOST_AUTO_TEST_CASE(matches_ipv4_peers_plain_or_mapped) {
    BOOST_TEST(in("10.0.0.0/8", "10.200.1.2"));
    BOOST_TEST(in("10.0.0.0/8", "::ffff:10.200.1.2"));
    BOOST_TEST(!in("10.0.0.0/8", "11.0.0.1"));
    BOOST_TEST(!in("10.0.0.0/8", "::ffff:11.0.0.1"));
    BOOST_TEST(!in("10.0.0.0/8", "::a00:1"));  // IPv4-compatible, not mapped: an IPv6 peer
    BOOST_TEST(in("127.0.0.1", "127.0.0.1"));
    BOOST_TEST(!in("127.0.0.1", "127.0.0.2"));
    BOOST_TEST(in("0.0.0.0/0", "203.0.113.9"));
    BOOST_TEST(!in("0.0.0.0/0", "2001:db8::1"));
}

BOOST_AUTO_TEST_CASE(matches_ipv6_peers) {
    BOOST_TEST(in("fd00::/8", "fd12:3456::1"));
    BOOST_TEST(!in("fd00::/8", "fe80::1"));
    BOOST_TEST(in("::1/128", "::1"));
    BOOST_TEST(!in("::1/128", "127.0.0.1"));
    // An IPv6 network sees an IPv4 peer in its mapped form.
    BOOST_TEST(in("::ffff:0:0/96", "192.0.2.1"));
    BOOST_TEST(in("::/0", "192.0.2.1"));
    BOOST_TEST(!in("2001:db8::/32", "192.0.2.1"));
    // A scoped (link-local) peer matches by its address.
    auto scoped = ip::make_address_v6(ip::make_address_v6("fe80::1").to_bytes(), 3);
    BOOST_TEST(ig::contains(must_parse("fe80::/10"), ip::address(scoped)));
}

BOOST_AUTO_TEST_CASE(any_of_a_list_and_the_logged_form) {
    std::vector<ig::Cidr> nets{must_parse("10.0.0.0/8"), must_parse("fd00::/8")};
    BOOST_TEST(ig::peer_in(ip::make_address("10.1.1.1"), nets));
    BOOST_TEST(ig::peer_in(ip::make_address("fd00::5"), nets));
    BOOST_TEST(!ig::peer_in(ip::make_address("192.168.1.1"), nets));
    BOOST_TEST(!ig::peer_in(ip::make_address("10.1.1.1"), {}));
    BOOST_TEST(ig::unmapped(ip::make_address("::ffff:10.1.2.3")).to_string() == "10.1.2.3");
    BOOST_TEST(ig::unmapped(ip::make_address("::1")).to_string() == "::1");
}
