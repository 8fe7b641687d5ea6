// parse_outside_json(): the one door for JSON from outside, with its size and depth limits.
#define BOOST_TEST_MODULE outside_json
#include <boost/test/unit_test.hpp>

#include "core/text/outside_json.hpp"

#include <string>

using namespace ig;

namespace {
std::string nested(std::size_t levels, char open = '[', char close = ']') {
    return std::string(levels, open) + std::string(levels, close);
}
// {"a":{"a":...{}...}} with `levels` objects.
std::string nested_objects(std::size_t levels) {
    std::string s;
    for (std::size_t i = 1; i < levels; ++i) s += "{\"a\":";
    s += "{}";
    s += std::string(levels - 1, '}');
    return s;
}
}  // namespace

BOOST_AUTO_TEST_CASE(ordinary_documents_parse) {
    auto r = parse_outside_json(R"({"id":"x","complianceState":"compliant","list":[1,2,{"k":null}]})");
    BOOST_REQUIRE(r.doc.has_value());
    BOOST_TEST(r.error.empty());
    BOOST_TEST((*r.doc)["complianceState"] == "compliant");
    BOOST_TEST((*r.doc)["list"][2].contains("k"));
    auto scalar = parse_outside_json("42");
    BOOST_REQUIRE(scalar.doc.has_value());
    BOOST_TEST(*scalar.doc == 42);
}

BOOST_AUTO_TEST_CASE(depth_limit_is_exact) {
    JsonLimits limits;
    limits.max_depth = 5;
    BOOST_TEST(parse_outside_json(nested(5), limits).doc.has_value());
    BOOST_TEST(parse_outside_json(nested_objects(5), limits).doc.has_value());
    auto arrays = parse_outside_json(nested(6), limits);
    BOOST_TEST(!arrays.doc.has_value());
    BOOST_TEST(arrays.error == "JSON nested deeper than 5 levels");
    auto objects = parse_outside_json(nested_objects(6), limits);
    BOOST_TEST(!objects.doc.has_value());
    BOOST_TEST(objects.error == "JSON nested deeper than 5 levels");
    // Depth counts nesting, not how many containers there are.
    BOOST_TEST(parse_outside_json("[" + nested(4) + "," + nested(4) + "," + nested(4) + "]", limits).doc.has_value());
}

BOOST_AUTO_TEST_CASE(a_million_levels_are_refused_without_a_crash) {
    // Parsing this is fine for nlohmann; copying or dumping the result recursed a million frames deep.
    const std::string deep = R"({"id":"x","complianceState":"compliant","deep":)" + nested(1'000'000) + "}";
    auto r = parse_outside_json(deep);
    BOOST_TEST(!r.doc.has_value());
    BOOST_TEST(r.error == "JSON nested deeper than 64 levels");
    auto objects = parse_outside_json(nested_objects(1'000'000));
    BOOST_TEST(!objects.doc.has_value());
    // An unterminated deep prefix is refused the same way, before the syntax error at the end.
    BOOST_TEST(parse_outside_json(std::string(1'000'000, '[')).error == "JSON nested deeper than 64 levels");
}

BOOST_AUTO_TEST_CASE(size_limit) {
    JsonLimits limits;
    limits.max_bytes = 10;
    BOOST_TEST(parse_outside_json(R"({"a":"12"})", limits).doc.has_value());  // exactly 10 bytes
    auto r = parse_outside_json(R"({"a":"123"})", limits);
    BOOST_TEST(!r.doc.has_value());
    BOOST_TEST(r.error == "JSON of 11 bytes is larger than the limit of 10");
}

BOOST_AUTO_TEST_CASE(syntax_errors_say_where_but_quote_nothing) {
    auto r = parse_outside_json("{\"access_token\":\"eyJsecretsecret");
    BOOST_TEST(!r.doc.has_value());
    BOOST_TEST(r.error.rfind("not valid JSON: parse error at line 1, column ", 0) == 0);
    BOOST_TEST(r.error.find("eyJ") == std::string::npos);
    BOOST_TEST(r.error.find("last read") == std::string::npos);
    for (const char* bad : {"", "<html>", "{\"a\":1,}", "[1 2]", "{\"a\":\"x\ny\"}", "nul", "\"\\ud800\""}) {
        BOOST_TEST_CONTEXT("input " << bad) {
            auto e = parse_outside_json(bad);
            BOOST_TEST(!e.doc.has_value());
            BOOST_TEST(e.error.rfind("not valid JSON: ", 0) == 0);
            BOOST_TEST(e.error.find('\n') == std::string::npos);
        }
    }
}

BOOST_AUTO_TEST_CASE(extra_callback_sees_every_event) {
    int keys = 0;
    auto r =
        parse_outside_json(R"({"a":1,"b":{"c":2}})", {}, [&](int, nlohmann::json::parse_event_t e, nlohmann::json&) {
            if (e == nlohmann::json::parse_event_t::key) ++keys;
            return true;
        });
    BOOST_REQUIRE(r.doc.has_value());
    BOOST_TEST(keys == 3);
}
