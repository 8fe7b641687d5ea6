#define BOOST_TEST_MODULE origin
#include <boost/test/unit_test.hpp>

#include "core/graph/origin.hpp"
#include "core/graph/token_source.hpp"

#include <string>

using ig::parse_url;
using ig::ParsedUrl;

namespace {

ParsedUrl must_parse(std::string_view text, ig::UrlRules rules = {}) {
    auto p = parse_url(text, rules);
    BOOST_REQUIRE_MESSAGE(p.error.empty(), std::string(text) + ": " + p.error);
    return p;
}

std::string problem_of(std::string_view text, ig::UrlRules rules = {}) {
    auto p = parse_url(text, rules);
    BOOST_TEST(!p.error.empty(), text);
    return p.error;
}

}  // namespace

BOOST_AUTO_TEST_CASE(default_and_explicit_ports) {
    auto plain = must_parse("https://graph.microsoft.com");
    BOOST_TEST(plain.origin.https);
    BOOST_TEST(plain.origin.host == "graph.microsoft.com");
    BOOST_TEST(plain.origin.port == 443);
    BOOST_TEST(plain.origin.host_header == "graph.microsoft.com");
    BOOST_TEST(plain.origin.text() == "https://graph.microsoft.com");
    BOOST_TEST(plain.origin.key() == "graph.microsoft.com:443");
    BOOST_TEST(plain.target == "/");

    auto http = must_parse("http://up.example", {.http_allowed = true});
    BOOST_TEST(!http.origin.https);
    BOOST_TEST(http.origin.port == 80);
    BOOST_TEST(http.origin.text() == "http://up.example");

    auto port = must_parse("HTTPS://Graph.Example:08443/");
    BOOST_TEST(port.origin.port == 8443);
    BOOST_TEST(port.origin.host == "Graph.Example");
    BOOST_TEST(port.origin.host_header == "Graph.Example:8443");  // the number, as sent in Host
    BOOST_TEST(port.origin.text() == "https://Graph.Example:8443");
    BOOST_TEST(port.origin.key() == "Graph.Example:8443");

    for (const char* bad : {"https://h:0", "https://h:65536", "https://h:", "https://h:99999999999", "https://h:-1"})
        BOOST_TEST(problem_of(bad) == "has an invalid port (1-65535)", bad);
    BOOST_TEST(must_parse("https://h:65535").origin.port == 65535);
    BOOST_TEST(must_parse("https://h:1").origin.port == 1);
}

BOOST_AUTO_TEST_CASE(ipv6_hosts_are_unbracketed_for_dns_and_bracketed_in_host_header) {
    auto v6 = must_parse("https://[::1]:9444/x");
    BOOST_TEST(v6.origin.host == "::1");
    BOOST_TEST(v6.origin.host_header == "[::1]:9444");
    BOOST_TEST(v6.origin.text() == "https://[::1]:9444");
    BOOST_TEST(v6.origin.key() == "::1:9444");
    BOOST_TEST(v6.origin.url({"a"}).buffer() == "https://[::1]:9444/x/a");
    auto v4 = must_parse("https://127.0.0.1");
    BOOST_TEST(v4.origin.host == "127.0.0.1");
    BOOST_TEST(problem_of("https://[v1.x]/") == "has an unsupported host");
}

BOOST_AUTO_TEST_CASE(refusals_name_what_is_wrong) {
    BOOST_TEST(problem_of("https://user:pw@login.example") == "must not contain user info");
    BOOST_TEST(problem_of("https://user@login.example") == "must not contain user info");
    BOOST_TEST(problem_of("http://login.example") == "must be an https URL");
    BOOST_TEST(problem_of("ftp://login.example", {.http_allowed = true}) == "must be an http or https URL");
    BOOST_TEST(problem_of("login.example") == "is not an absolute URL");
    BOOST_TEST(problem_of("https://") == "needs a host");
    BOOST_TEST(problem_of("https://h\r\nX: 1") == "must not contain control characters");
    BOOST_TEST(problem_of("https://bad%20host/") == "has an invalid host name");
    BOOST_TEST(problem_of("https://h/#frag") == "is not an absolute URL");
    BOOST_TEST(problem_of("https://h/v1.0", {.origin_only = true}) == "must not have a path");
    // Found by fuzz_url: Boost.URL 1.81 reads what follows a port's digits as a relative path.
    BOOST_TEST(problem_of("https://graph.microsoft.com:443ft.com#", {.fragment_allowed = true}) ==
               "has an invalid port (1-65535)");
    BOOST_TEST(problem_of("https://h:8443x/v1.0") == "has an invalid port (1-65535)");
    BOOST_TEST(problem_of("https://h:1a", {.http_allowed = true, .origin_only = true}) ==
               "has an invalid port (1-65535)");
    BOOST_TEST(problem_of("https://h:x") == "has an invalid port (1-65535)");
    BOOST_TEST(problem_of("https://h?x=1", {.origin_only = true}) == "must not have a query");
    BOOST_TEST(must_parse("https://h/", {.origin_only = true}).origin.base_path.empty());
    // A link from an answer may carry a fragment: it is never part of what is sent.
    BOOST_TEST(must_parse("https://h/p?q=1#frag", {.fragment_allowed = true}).target == "/p?q=1");
}

BOOST_AUTO_TEST_CASE(trailing_slashes_do_not_double_in_built_urls) {
    for (const char* base : {"https://login.example", "https://login.example/", "https://login.example//"}) {
        auto o = must_parse(base).origin;
        BOOST_TEST(o.base_path.empty(), base);
        BOOST_TEST(o.url({"t", "oauth2"}).buffer() == "https://login.example/t/oauth2", base);
    }
    auto based = must_parse("https://h:8443/proxy/graph/").origin;
    BOOST_TEST(based.base_path == "/proxy/graph");
    BOOST_TEST(based.url({"v1.0", "x"}).buffer() == "https://h:8443/proxy/graph/v1.0/x");
    BOOST_TEST(based.url().buffer() == "https://h:8443/proxy/graph");
}

// Found by fuzz_url: Boost.URL's set_encoded_path() turned a base path "//x" into "/.//x".
BOOST_AUTO_TEST_CASE(a_base_path_starting_with_two_slashes_is_kept_as_written) {
    auto p = must_parse("https://graph.microsoft.com//evil.example/x?y", {.fragment_allowed = true});
    BOOST_TEST(p.origin.base_path == "//evil.example/x");
    BOOST_TEST(p.target == "//evil.example/x?y");
    auto u = p.origin.url({"v1.0"});
    BOOST_TEST(u.buffer() == "https://graph.microsoft.com//evil.example/x/v1.0");
    BOOST_TEST(u.encoded_host() == "graph.microsoft.com");
    BOOST_TEST(p.origin.url().buffer() == "https://graph.microsoft.com//evil.example/x");
    auto ipv6 = must_parse("https://[::1]:8443//a//").origin;
    BOOST_TEST(ipv6.url({"b"}).buffer() == "https://[::1]:8443//a/b");
}

BOOST_AUTO_TEST_CASE(segments_with_reserved_characters_stay_one_segment) {
    auto o = must_parse("https://graph.example").origin;
    auto u = o.url({"managedDevices", "a/b?c#d%e f"});
    BOOST_TEST(u.buffer() == "https://graph.example/managedDevices/a%2Fb%3Fc%23d%25e%20f");
    BOOST_TEST(u.encoded_target() == "/managedDevices/a%2Fb%3Fc%23d%25e%20f");
    BOOST_TEST(u.segments().size() == 2u);
    BOOST_TEST(u.segments().back() == "a/b?c#d%e f");  // decodes back to what was given
    BOOST_TEST(!u.has_query());
    BOOST_TEST(!u.has_fragment());
}

BOOST_AUTO_TEST_CASE(token_url_encodes_the_tenant_as_one_segment) {
    auto login = must_parse("https://login.microsoftonline.com/").origin;
    BOOST_TEST(ig::TokenSource::token_url(login, "contoso.onmicrosoft.com").buffer() ==
               "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token");
    // A '/' or '%' in the tenant ID cannot change the path: it stays inside the tenant segment.
    auto odd = ig::TokenSource::token_url(login, "a/../b%2F");
    BOOST_TEST(odd.encoded_path() == "/a%2F..%2Fb%252F/oauth2/v2.0/token");
    BOOST_TEST(odd.segments().size() == 4u);
    BOOST_TEST(odd.segments().front() == "a/../b%2F");
    auto q = ig::TokenSource::token_url(login, "t?x=1#y");
    BOOST_TEST(!q.has_query());
    BOOST_TEST(!q.has_fragment());
    BOOST_TEST(q.encoded_path() == "/t%3Fx=1%23y/oauth2/v2.0/token");
}

BOOST_AUTO_TEST_CASE(same_origin_compares_scheme_host_and_port) {
    auto graph = must_parse("https://graph.microsoft.com").origin;
    auto link = [](const char* url) { return must_parse(url, {.fragment_allowed = true}).origin; };
    BOOST_TEST(graph.same_as(link("https://GRAPH.microsoft.com/v1.0/x?$skiptoken=1")));
    BOOST_TEST(graph.same_as(link("https://graph.microsoft.com:443/beta")));
    BOOST_TEST(!graph.same_as(link("https://graph.microsoft.com:8443/")));
    BOOST_TEST(!graph.same_as(link("https://graph.microsoft.com.evil.example/")));
    BOOST_TEST(!graph.same_as(must_parse("http://graph.microsoft.com/", {.http_allowed = true}).origin));
}

BOOST_AUTO_TEST_CASE(targets_keep_path_and_query_encoded) {
    auto p = must_parse("https://h/v1.0/deviceManagement/managedDevices?$select=id,complianceState&$top=5");
    BOOST_TEST(p.target == "/v1.0/deviceManagement/managedDevices?$select=id,complianceState&$top=5");
    BOOST_TEST(must_parse("https://h?x=1").target == "/?x=1");
    BOOST_TEST(must_parse("https://h/a%2Fb").target == "/a%2Fb");
}
