#define BOOST_TEST_MODULE path_normalise
#include <boost/test/unit_test.hpp>

#include "core/policy/path_normalise.hpp"

#include <fstream>
#include <string>

using ig::normalise_path;

namespace {

std::string forwarded(std::string_view p) {
    auto n = normalise_path(p);
    return n ? n->forward : "REFUSED";
}

std::string matched(std::string_view p) {
    auto n = normalise_path(p);
    return n ? n->match : "REFUSED";
}

}  // namespace

// The shared adversarial list: every line's forwarded path, and what a policy on /admin sees.
BOOST_AUTO_TEST_CASE(adversarial_list) {
    std::ifstream in(IG_SOURCE_DIR "/tests/fixtures/policy/adversarial_paths.tsv");
    BOOST_REQUIRE(in);
    std::string line;
    int cases = 0;
    bool under_admin = true;
    while (std::getline(in, line)) {
        if (line == "# refused" || line == "# not under /admin") under_admin = false;
        if (line.empty() || line.front() == '#') continue;
        const auto tab = line.find('\t');
        BOOST_REQUIRE(tab != std::string::npos);
        const std::string input = line.substr(0, tab), expected = line.substr(tab + 1);
        BOOST_TEST(forwarded(input) == expected, input);
        if (under_admin) BOOST_TEST(ig::path_has_prefix(matched(input), "/admin"), input);
        if (!under_admin && expected != "REFUSED") BOOST_TEST(!ig::path_has_prefix(matched(input), "/admin"), input);
        ++cases;
    }
    BOOST_TEST(cases > 40);
}

BOOST_AUTO_TEST_CASE(parameters_are_kept_for_the_upstream_and_dropped_for_matching) {
    auto n = normalise_path("/a;v=1/b;jsessionid=X/");
    BOOST_REQUIRE(n);
    BOOST_TEST(n->forward == "/a;v=1/b;jsessionid=X/");
    BOOST_TEST(n->match == "/a/b/");
    BOOST_TEST(matched("/admin/;x") == "/admin/");
}

BOOST_AUTO_TEST_CASE(one_spelling_per_byte) {
    BOOST_TEST(forwarded("/caf%c3%a9/%20x%7e") == "/caf%C3%A9/%20x~");
    BOOST_TEST(forwarded("/caf\xc3\xa9") == "/caf%C3%A9");  // raw UTF-8, as an upstream decodes it
    BOOST_TEST(forwarded("/a%25b") == "/a%25b");
    BOOST_TEST(forwarded("/a%3fb%23") == "/a%3Fb%23");
    BOOST_TEST(forwarded("/a%21%24%26%27%28%29%2a%2B%2c%3d%3A%40") == "/a!$&'()*+,=:@");
    BOOST_TEST(forwarded("/a\"<>{}|^`[]") == "/a%22%3C%3E%7B%7D%7C%5E%60%5B%5D");
    BOOST_TEST(forwarded("/a%0d%0a") == "/a%0D%0A");
    BOOST_TEST(forwarded("/a\r") == "REFUSED");
    BOOST_TEST(forwarded("/a?b") == "REFUSED");
    BOOST_TEST(forwarded("/a#b") == "REFUSED");
}

BOOST_AUTO_TEST_CASE(dot_segments_as_rfc3986_5_2_4) {
    BOOST_TEST(forwarded("/a/b/c/./../../g") == "/a/g");
    BOOST_TEST(forwarded("/mid/content=5/../6") == "/mid/6");
    BOOST_TEST(forwarded("/a/b/..") == "/a/");
    BOOST_TEST(forwarded("/..") == "/");
    BOOST_TEST(forwarded("/.") == "/");
    BOOST_TEST(forwarded("/a/...") == "/a/...");
    BOOST_TEST(forwarded("/a/..b") == "/a/..b");
}

BOOST_AUTO_TEST_CASE(normalising_twice_changes_nothing) {
    for (const char* p : {"/a//b/../c;x/./d/", "/%2e%2e;/x", "/;a/;b/c", "/x/%c3%a9;y=%2e%2e/.."}) {
        auto once = normalise_path(p);
        BOOST_REQUIRE(once);
        auto twice = normalise_path(once->forward);
        BOOST_REQUIRE(twice);
        BOOST_TEST(twice->forward == once->forward, p);
        BOOST_TEST(twice->match == once->match, p);
        BOOST_TEST(ig::without_parameters(once->forward) == once->match, p);
    }
}

BOOST_AUTO_TEST_CASE(prefixes_end_at_a_segment_boundary) {
    using ig::path_has_prefix;
    BOOST_TEST(path_has_prefix("/admin", "/admin"));
    BOOST_TEST(path_has_prefix("/admin/", "/admin"));
    BOOST_TEST(path_has_prefix("/admin/x", "/admin"));
    BOOST_TEST(!path_has_prefix("/administrator", "/admin"));
    BOOST_TEST(!path_has_prefix("/admi", "/admin"));
    BOOST_TEST(path_has_prefix("/api/admin/", "/api/admin/"));
    BOOST_TEST(path_has_prefix("/api/admin/x", "/api/admin/"));
    BOOST_TEST(!path_has_prefix("/api/admin", "/api/admin/"));
    BOOST_TEST(!path_has_prefix("/api/administrator", "/api/admin/"));
    BOOST_TEST(path_has_prefix("/anything", "/"));
}

BOOST_AUTO_TEST_CASE(targets_split_at_the_first_question_mark) {
    auto t = ig::split_target("/a/b?x=/../admin?y");
    BOOST_TEST(t.path == "/a/b");
    BOOST_TEST(t.query == "?x=/../admin?y");
    BOOST_TEST(ig::split_target("/a").query.empty());
}
