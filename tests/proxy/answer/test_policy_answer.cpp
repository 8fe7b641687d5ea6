// An access policy's answer (docs/policies.md), made by the one answer builder plan_answer():
// enforce turns a forward into the policy's deny action with "policy", "requirement" and
// "detail"; report only adds headers; the deny page says per requirement what the site needs,
// what the device reports and what to do, every value from Graph escaped.
#define BOOST_TEST_MODULE policy_answer
#include <boost/test/unit_test.hpp>

#include "proxy/answer/answer.hpp"
#include "proxy/answer/deny_page.hpp"
#include "proxy/answer/policy_answer.hpp"

#include <nlohmann/json.hpp>

using namespace ig;

namespace {

Config config_with(PolicyMode mode) {
    Config c;
    c.outcomes[static_cast<std::size_t>(Outcome::Compliant)].action = Action::Forward;
    PolicyConfig p;
    p.name = "admin";
    p.paths = {"/admin"};
    p.require.os = {{"macOS", "14.5"}};
    p.require.encrypted = true;
    p.mode = mode;
    p.deny.status = 451;
    c.policies.push_back(p);
    c.policy_paths = true;
    return c;
}

Verdict mac(std::string version) {
    Verdict v;
    v.outcome = Outcome::Compliant;
    v.facts.read = all_facts;
    v.facts.operating_system = "macOS";
    v.facts.os_version = std::move(version);
    v.facts.encrypted = true;
    return v;
}

// The check and the answer plan_answer() makes with it (the check must outlive the answer).
struct Planned {
    PolicyCheck check;
    Answer answer;
};

Planned planned(const Config& c, const Verdict& v, std::string_view target, Dialect d = Dialect::Gateway,
                std::string_view accept = "application/json") {
    static const std::optional<std::string> id = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";
    Planned p;
    p.check = policy_for(c, policy_request(c, "app.example.com", target), v);
    p.answer = plan_answer(v, id, {d, "rid", accept, "app.example.com", target, {}, &p.check}, c);
    return p;
}

}  // namespace

BOOST_AUTO_TEST_CASE(enforce_denies_with_the_policys_action_and_names_the_requirement) {
    const auto c = config_with(PolicyMode::Enforce);
    const auto v = mac("13.6.1 (22G313)");
    auto [check, a] = planned(c, v, "/public/..;/admin/x");
    BOOST_TEST((check.result == PolicyResult::Deny));
    BOOST_TEST((a.action == Action::Reject));
    BOOST_TEST(a.status == 451u);
    BOOST_TEST(*answer_header(a, "Content-Type") == "application/json");
    auto body = nlohmann::json::parse(a.body);
    BOOST_TEST(body["policy"] == "admin");
    BOOST_TEST(body["requirement"] == "os");
    BOOST_TEST(body["detail"] == "macOS 13.6.1 (22G313) is older than 14.5");
    BOOST_TEST(body["outcome"] == "Compliant");
    BOOST_TEST(body["reason"] == "access policy admin: os not met");
    // nginx: every reject is 403, the configured status travels in X-Intune-Status; the endpoint
    // names the outcome as for any reject (one answer builder for both faces).
    auto nginx = planned(c, v, "/admin", Dialect::AuthzNginx).answer;
    BOOST_TEST(nginx.status == 403u);
    BOOST_TEST(nginx.configured_status == 451u);
    BOOST_TEST(*answer_header(nginx, "X-Intune-Status") == "451");
    BOOST_TEST(*answer_header(nginx, "X-Intune-Outcome") == "Compliant");
    BOOST_TEST(nlohmann::json::parse(nginx.body)["requirement"] == "os");
}

BOOST_AUTO_TEST_CASE(a_deny_redirect_fills_its_location_like_an_outcomes) {
    auto c = config_with(PolicyMode::Enforce);
    c.policies[0].deny.action = Action::Redirect;
    c.policies[0].deny.status = 302;
    c.policies[0].deny.location = "https://help.example.com/policy?back={return_url}&id={request_id}";
    auto a = planned(c, mac("13.6.1"), "/admin/x?y=1").answer;
    BOOST_TEST((a.action == Action::Redirect));
    BOOST_TEST(a.status == 302u);
    BOOST_TEST(*answer_header(a, "Location") ==
               "https://help.example.com/policy?back=https%3A%2F%2Fapp.example.com%2Fadmin%2Fx%3Fy%3D1&id=rid");
    auto nginx = planned(c, mac("13.6.1"), "/admin", Dialect::AuthzNginx).answer;
    BOOST_TEST(nginx.status == 401u);
    BOOST_TEST(answer_header(nginx, "Location") != nullptr);
}

BOOST_AUTO_TEST_CASE(passing_and_report_mode_forward_with_headers) {
    // The answer's facts name the policy by a view into the config: the configs must outlive them.
    const auto enforce = config_with(PolicyMode::Enforce);
    const auto report_only = config_with(PolicyMode::Report);
    auto pass = planned(enforce, mac("14.5 (23F79)"), "/admin").answer;
    BOOST_TEST((pass.action == Action::Forward));
    BOOST_TEST(pass.facts.policy == "admin");
    BOOST_TEST(pass.facts.policy_failed.empty());
    auto [check, report] = planned(report_only, mac("13.6.1"), "/admin");
    BOOST_TEST((report.action == Action::Forward));
    BOOST_TEST(report.facts.policy == "admin");
    BOOST_TEST(report.facts.policy_failed == "os");
    BOOST_TEST((check.result == PolicyResult::Report));
    auto none = planned(enforce, mac("13.6.1"), "/administrator").answer;
    BOOST_TEST((none.action == Action::Forward));
    BOOST_TEST(none.facts.policy.empty());
}

BOOST_AUTO_TEST_CASE(a_rejected_outcome_is_answered_as_the_outcome_not_the_policy) {
    auto c = config_with(PolicyMode::Enforce);
    auto v = mac("13.6.1");
    v.outcome = Outcome::NotCompliant;  // its outcome rejects (403): the policy is not asked
    auto [check, a] = planned(c, v, "/admin");
    BOOST_TEST((check.result == PolicyResult::None));
    BOOST_TEST(a.status == 403u);
    BOOST_TEST(!nlohmann::json::parse(a.body).contains("policy"));
    // Even handed a Deny (a caller's mistake), plan_answer() keeps the outcome's own action.
    PolicyCheck deny;
    deny.policy = &c.policies[0];
    deny.result = PolicyResult::Deny;
    deny.failure = RequirementResult{Requirement::Os, false, "x"};
    const std::optional<std::string> id = "d";
    auto kept = plan_answer(v, id, {Dialect::Gateway, "rid", "", "", "", {}, &deny}, c);
    BOOST_TEST(kept.status == 403u);
}

BOOST_AUTO_TEST_CASE(the_page_says_it_in_plain_words_escaped) {
    const auto c = config_with(PolicyMode::Enforce);
    const auto v = mac("13.6.1 <script>alert(1)</script>");
    auto [check, r] = planned(c, v, "/admin", Dialect::Gateway, "text/html");
    BOOST_TEST(answer_header(r, "Content-Type")->starts_with("text/html"));
    BOOST_TEST(r.body.find("Update macOS to use this site") != std::string::npos);
    BOOST_TEST(r.body.find("This site needs macOS 14.5 or later; your Mac reports 13.6.1") != std::string::npos);
    BOOST_TEST(r.body.find("Update macOS to 14.5 or later, then try again.") != std::string::npos);
    BOOST_TEST(r.body.find("access policy admin: os not met") != std::string::npos);
    BOOST_TEST(r.body.find("<script>") == std::string::npos);
    BOOST_TEST(r.body.find("&lt;script&gt;") != std::string::npos);
    auto json =
        render_reject(c.policies[0].deny, v, "rid", "application/json", std::chrono::system_clock::now(), {}, &check);
    BOOST_TEST(nlohmann::json::parse(json.body)["requirement"] == "os");
}

BOOST_AUTO_TEST_CASE(each_requirement_has_its_own_words) {
    auto c = config_with(PolicyMode::Enforce);
    auto v = mac("14.6");
    v.facts.encrypted = false;
    const auto check = planned(c, v, "/admin").check;
    BOOST_REQUIRE(check.failure);
    BOOST_TEST(policy_words(check, v).title == "Turn on encryption to use this site");
    BOOST_TEST(policy_words(check, v).todo.starts_with("Turn on FileVault"));
}

// docs/policies.md: a path with no one reading is refused whenever a policy has
// `paths`, also when that policy only reports.
BOOST_AUTO_TEST_CASE(an_unreadable_path_is_refused_also_when_the_only_path_policy_reports) {
    const auto c = config_with(PolicyMode::Report);
    BOOST_TEST(policy_request(c, "app.example.com", "/admin%2Fx").refused == path_not_accepted);
    BOOST_TEST(original_policy_request(c, "app.example.com", "/public\\..\\admin").refused == path_not_accepted);
    BOOST_TEST(original_policy_request(c, "app.example.com", "").refused == original_request_unknown);
    BOOST_TEST(policy_request(c, "app.example.com", "/admin/x").refused.empty());
}
