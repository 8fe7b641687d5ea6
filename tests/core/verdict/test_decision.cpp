#define BOOST_TEST_MODULE decision
#include <boost/test/unit_test.hpp>

#include "core/text/text.hpp"
#include "core/verdict/decision.hpp"

#include <nlohmann/json.hpp>

using namespace ig;

namespace {
GraphReply answered(unsigned status, std::string body) {
    GraphReply r;
    r.kind = GraphReply::Kind::Answered;
    r.status = status;
    r.body = std::move(body);
    return r;
}
GraphReply device_with_state(const nlohmann::json& state) {
    return answered(200, nlohmann::json{{"id", "x"}, {"complianceState", state}, {"managementAgent", "mdm"}}.dump());
}
}  // namespace

BOOST_AUTO_TEST_CASE(every_state_maps_case_insensitively) {
    const std::pair<const char*, Outcome> cases[] = {
        {"compliant", Outcome::Compliant},           {"COMPLIANT", Outcome::Compliant},
        {"noncompliant", Outcome::NotCompliant},     {"nonCompliant", Outcome::NotCompliant},
        {"inGracePeriod", Outcome::InGracePeriod},   {"ingraceperiod", Outcome::InGracePeriod},
        {"configManager", Outcome::ConfigManager},   {"conflict", Outcome::Conflict},
        {"unknown", Outcome::StatusUnknown},         {"error", Outcome::Error},
        {"someFutureState", Outcome::StatusUnknown}, {"", Outcome::StatusUnknown},
    };
    IntuneConfig cfg;
    for (auto& [state, outcome] : cases) {
        BOOST_TEST_CONTEXT("state " << state) {
            auto v = verdict_for_reply(device_with_state(state), cfg);
            BOOST_TEST(to_string(v.outcome) == to_string(outcome));
            BOOST_TEST(v.compliance_state == state);  // as Graph wrote it
            BOOST_TEST(v.reason.find('\n') == std::string::npos);
        }
    }
}

BOOST_AUTO_TEST_CASE(not_found_uses_configured_outcome) {
    IntuneConfig cfg;
    auto v = verdict_for_reply(answered(404, R"({"error":{"code":"ResourceNotFound","message":"nope"}})"), cfg);
    BOOST_TEST(to_string(v.outcome) == "NotCompliant");
    BOOST_TEST(v.compliance_state.empty());
    cfg.device_not_found = Outcome::StatusUnknown;
    BOOST_TEST(to_string(verdict_for_reply(answered(404, ""), cfg).outcome) == "StatusUnknown");
}

BOOST_AUTO_TEST_CASE(http_failures_are_errors_with_odata_code) {
    IntuneConfig cfg;
    for (unsigned status : {400u, 401u, 403u, 429u, 500u, 503u, 302u}) {
        BOOST_TEST_CONTEXT("status " << status) {
            auto v = verdict_for_reply(
                answered(
                    status,
                    R"({"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges\r\nX-Evil: 1","innerError":{"request-id":"abc"}}})"),
                cfg);
            BOOST_TEST(to_string(v.outcome) == "Error");
            BOOST_TEST(v.reason.find(std::to_string(status)) != std::string::npos);
            BOOST_TEST(v.reason.find("Authorization_RequestDenied") != std::string::npos);
            BOOST_TEST(v.reason.find("request-id abc") != std::string::npos);
            BOOST_TEST(v.reason.find_first_of("\r\n") == std::string::npos);
        }
    }
}

BOOST_AUTO_TEST_CASE(bad_bodies_are_errors) {
    IntuneConfig cfg;
    for (const char* body : {"<html>hi</html>", "", "[]", "null", R"({"id":"x"})", R"({"complianceState":7})",
                             R"({"complianceState":null})", R"({"complianceState":["compliant"]})"}) {
        BOOST_TEST_CONTEXT("body " << body) {
            auto v = verdict_for_reply(answered(200, body), cfg);
            BOOST_TEST(to_string(v.outcome) == "Error");
            BOOST_TEST(!v.reason.empty());
        }
    }
}

BOOST_AUTO_TEST_CASE(transport_and_token_failures_are_errors) {
    IntuneConfig cfg;
    GraphReply r;
    r.kind = GraphReply::Kind::TokenFailed;
    r.error = "token request refused: invalid_client: AADSTS7000215: Invalid client secret provided.";
    auto v = verdict_for_reply(r, cfg);
    BOOST_TEST(to_string(v.outcome) == "Error");
    BOOST_TEST(v.reason == r.error);
    r.kind = GraphReply::Kind::Unreachable;
    r.error = "graph request timed out";
    BOOST_TEST(to_string(verdict_for_reply(r, cfg).outcome) == "Error");
}

BOOST_AUTO_TEST_CASE(hostile_state_is_sanitised) {
    IntuneConfig cfg;
    auto v =
        verdict_for_reply(device_with_state(std::string("compliant\r\nX-Evil: 1\0z", 22) + std::string(500, 'a')), cfg);
    BOOST_TEST(to_string(v.outcome) == "StatusUnknown");
    BOOST_TEST(v.compliance_state.find_first_of(std::string("\r\n\0", 3)) == std::string::npos);
    BOOST_TEST(v.compliance_state.size() <= 64u);
    BOOST_TEST(v.reason.find_first_of(std::string("\r\n\0", 3)) == std::string::npos);
    auto u = verdict_for_reply(device_with_state("compli\xc3\xa4nt"), cfg);
    BOOST_TEST(to_string(u.outcome) == "StatusUnknown");
    BOOST_TEST(u.compliance_state == "complint");
}

BOOST_AUTO_TEST_CASE(saved_properties_all_or_selected) {
    IntuneConfig cfg;
    auto body =
        nlohmann::json{{"id", "d"}, {"complianceState", "compliant"}, {"deviceName", "pc"}, {"osVersion", "11"}};
    BOOST_TEST(verdict_for_reply(answered(200, body.dump()), cfg).device_json.empty());
    cfg.save_device_properties = true;
    BOOST_TEST(nlohmann::json::parse(verdict_for_reply(answered(200, body.dump()), cfg).device_json) == body);
    cfg.device_properties = {"deviceName", "missing"};
    BOOST_TEST(nlohmann::json::parse(verdict_for_reply(answered(200, body.dump()), cfg).device_json) ==
               (nlohmann::json{{"deviceName", "pc"}}));
}

BOOST_AUTO_TEST_CASE(text_helpers) {
    BOOST_TEST(one_line("  a\r\n\tb  c \x01") == "a b c");
    BOOST_TEST(one_line(std::string(1000, 'x'), 10).size() == 10u);
    // Cut right after a blank: no trailing blank, and the result is stable (found by fuzz_shared_value).
    BOOST_TEST(one_line("abcd efgh", 5) == "abcd");
    BOOST_TEST(one_line(one_line("abcd efgh", 5), 5) == one_line("abcd efgh", 5));
    BOOST_TEST(scrub("secret is s3cret and s3cret", {"s3cret"}) == "secret is *** and ***");
    BOOST_TEST(printable_ascii("a\x7f\xff"
                               "b",
                               10) == "ab");
}

BOOST_AUTO_TEST_CASE(deeply_nested_device_is_an_error_not_a_crash) {
    // Saving every property dumps the device: that recursed once per level and overflowed the stack.
    IntuneConfig cfg;
    cfg.save_device_properties = true;
    const std::string deep(1'000'000, '['), undeep(1'000'000, ']');
    for (auto props : {std::vector<std::string>{}, std::vector<std::string>{"deep"}}) {
        cfg.device_properties = props;
        auto v = verdict_for_reply(
            answered(200, R"({"id":"x","complianceState":"compliant","deep":)" + deep + undeep + "}"), cfg);
        BOOST_TEST(to_string(v.outcome) == "Error");
        BOOST_TEST(v.reason == "graph answered with a body that is not usable: JSON nested deeper than 64 levels");
        BOOST_TEST(v.device_json.empty());
    }
    // An error body nested as deep only loses its OData details.
    auto v = verdict_for_reply(answered(503, R"({"error":{"code":"X","innerError":)" + deep + undeep + "}}"), cfg);
    BOOST_TEST(to_string(v.outcome) == "Error");
    BOOST_TEST(v.reason == "graph unavailable after retries (HTTP 503)");
    // Nesting a real device never needs comes through.
    cfg.device_properties = {"hardwareInformation"};
    v = verdict_for_reply(answered(200, R"({"complianceState":"compliant","hardwareInformation":{"a":[[{"b":[1]}]]}})"),
                          cfg);
    BOOST_TEST(to_string(v.outcome) == "Compliant");
    BOOST_TEST(v.device_json == R"({"hardwareInformation":{"a":[[{"b":[1]}]]}})");
}

// Issue 26: a device body must carry the id that was asked for.
BOOST_AUTO_TEST_CASE(the_answer_must_name_the_asked_device) {
    IntuneConfig cfg;
    const std::string asked = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";
    auto body = [](nlohmann::json id) {
        nlohmann::json d{{"complianceState", "compliant"}};
        if (!id.is_discarded()) d["id"] = id;
        return answered(200, d.dump());
    };
    BOOST_TEST(to_string(verdict_for_reply(body(asked), cfg, asked).outcome) == "Compliant");
    BOOST_TEST(to_string(verdict_for_reply(body("3F2504E0-4F89-41D3-9A0C-0305E82C3301"), cfg, asked).outcome) ==
               "Compliant");
    for (const auto& other :
         {nlohmann::json("3f2504e0-4f89-41d3-9a0c-0305e82c3302"), nlohmann::json(nullptr), nlohmann::json(42),
          nlohmann::json(nlohmann::json::value_t::discarded), nlohmann::json("x\r\ny")}) {
        auto v = verdict_for_reply(body(other), cfg, asked);
        BOOST_TEST(to_string(v.outcome) == "Error", other.dump());
        BOOST_TEST(v.reason.find("another device") != std::string::npos);
        BOOST_TEST(v.reason.find_first_of("\r\n") == std::string::npos);
    }
    // No asked id (a page of the bulk sync): not checked here.
    BOOST_TEST(to_string(verdict_for_reply(body("x"), cfg).outcome) == "Compliant");
}
