// The "policies" section (README: Access policies): the model it gives and every config error of
// the contract, each naming its JSON pointer.
#define BOOST_TEST_MODULE config_policies
#include <boost/test/unit_test.hpp>

#include "core/config/config.hpp"
#include "tests/support/test_pki.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>
#include <string>

using nlohmann::json;

namespace {

json minimal() {
    return json::parse(R"({
      "tls": { "certificate": "server.crt", "private_key": "server.key", "client_ca": "device-ca.crt" },
      "intune": { "tenant_id": "11111111-2222-4333-8444-555555555555",
                  "client_id": "66666666-7777-4888-8999-000000000000",
                  "client_secret": { "env": "IG_TEST_SECRET" } }
    })");
}

ig::ConfigResult parse_policies(const json& policies) {
    ::setenv("IG_TEST_SECRET", "env-s3cret-value", 1);
    auto doc = minimal();
    doc["policies"] = policies;
    return ig::parse_config(doc, ig::test::test_pki());
}

std::string all(const ig::ConfigResult& r) {
    std::string out;
    for (const auto& e : r.errors) out += e + "\n";
    return out;
}

void expect_error_like(const json& policies, const std::string& path, const std::string& phrase) {
    auto r = parse_policies(policies);
    BOOST_TEST(!r.config.has_value());
    const std::string prefix = "config error: " + path + ": ";
    bool found = std::any_of(r.errors.begin(), r.errors.end(), [&](const std::string& e) {
        return e.rfind(prefix, 0) == 0 && e.find(phrase) != std::string::npos;
    });
    BOOST_TEST(found, "missing: " << prefix << "..." << phrase << "\ngot:\n" << all(r));
}

json one(json fields) {
    json p{{"name", "admin"}};
    p.update(fields);
    return json::array({p});
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_contract_example_loads) {
    auto r = parse_policies(json::parse(R"([
      { "name": "admin",
        "match": { "hosts": ["Admin.Example.com", "*.ops.example.com"], "paths": ["/admin", "/api/admin/"] },
        "require": { "outcomes": ["Compliant", "InGracePeriod"],
                     "os": { "Windows": "10.0.22631", "macOS": "14.5", "iOS": "17.5", "Android": "14" },
                     "encrypted": true, "jailbroken": false, "owner": ["company"], "max_sync_age_h": 72 },
        "mode": "enforce",
        "deny": { "action": "reject", "status": 403, "help": "Use a company laptop.", "help_url": "https://help.example.com/" } },
      { "name": "rest", "mode": "report",
        "deny": { "action": "redirect", "location": "https://portal.example.com/?id={request_id}" } }
    ])"));
    BOOST_REQUIRE_MESSAGE(r.config, all(r));
    const auto& c = *r.config;
    BOOST_REQUIRE(c.policies.size() == 2u);
    const auto& a = c.policies[0];
    BOOST_TEST(a.name == "admin");
    BOOST_TEST(a.hosts[0].text == "admin.example.com");
    BOOST_TEST(a.paths.size() == 2u);
    BOOST_TEST(a.require.outcomes.size() == 2u);
    BOOST_TEST(a.require.os.size() == 4u);
    BOOST_TEST(*a.require.max_sync_age_h == 72u);
    BOOST_TEST((a.mode == ig::PolicyMode::Enforce));
    BOOST_TEST((a.deny.action == ig::Action::Reject));
    BOOST_TEST(a.deny.help == "Use a company laptop.");
    const auto& rest = c.policies[1];
    BOOST_TEST((rest.mode == ig::PolicyMode::Report));
    BOOST_TEST((rest.deny.action == ig::Action::Redirect));
    BOOST_TEST(rest.require.outcomes.size() == 1u);  // default ["Compliant"]
    BOOST_TEST(c.policy_hosts);
    BOOST_TEST(c.policy_paths);
    BOOST_TEST(c.intune.facts == ig::all_facts);
}

BOOST_AUTO_TEST_CASE(no_policies_no_facts_and_default_deny) {
    auto r = parse_policies(json::parse(R"([{ "name": "any" }])"));
    BOOST_REQUIRE_MESSAGE(r.config, all(r));
    BOOST_TEST(r.config->intune.facts == 0u);
    BOOST_TEST(!r.config->policy_paths);
    BOOST_TEST((r.config->policies[0].deny.action == ig::Action::Reject));
    BOOST_TEST(r.config->policies[0].deny.status == 403u);
    auto owner_only = parse_policies(one({{"require", {{"owner", {"personal"}}}}}));
    BOOST_REQUIRE(owner_only.config);
    BOOST_TEST(owner_only.config->intune.facts == unsigned(ig::fact_owner));
}

BOOST_AUTO_TEST_CASE(every_config_error_names_its_pointer) {
    expect_error_like(one({{"require", {{"colour", "blue"}}}}), "/policies/0/require/colour", "unknown requirement");
    expect_error_like(one({{"require", {{"outcomes", {"Compliant", "Fine"}}}}}), "/policies/0/require/outcomes/1",
                      "unknown outcome");
    expect_error_like(one({{"require", {{"os", {{"macOS", "14.5b"}}}}}}), "/policies/0/require/os/macOS",
                      "digits and dots");
    expect_error_like(one({{"require", {{"os", {{"macOS", "14..5"}}}}}}), "/policies/0/require/os/macOS",
                      "digits and dots");
    expect_error_like(one({{"require", {{"max_sync_age_h", 0}}}}), "/policies/0/require/max_sync_age_h", "1 and 8760");
    expect_error_like(one({{"require", {{"max_sync_age_h", 8761}}}}), "/policies/0/require/max_sync_age_h",
                      "1 and 8760");
    expect_error_like(one({{"require", {{"owner", {"corporate"}}}}}), "/policies/0/require/owner/0", "\"company\"");
    expect_error_like(one({{"require", {{"encrypted", "yes"}}}}), "/policies/0/require/encrypted", "boolean");
    expect_error_like(one({{"name", ""}}), "/policies/0/name", "1 to 64");
    expect_error_like(json::parse(R"([{"name":"a"},{"name":"a"}])"), "/policies/1/name", "earlier policy");
    expect_error_like(json::parse(R"([{"match":{}}])"), "/policies/0/name", "is required");
    expect_error_like(one({{"match", {{"hosts", {"*.a.com:443"}}}}}), "/policies/0/match/hosts/0", "host name");
    expect_error_like(one({{"match", {{"hosts", {"a.*.com"}}}}}), "/policies/0/match/hosts/0", "host name");
    expect_error_like(one({{"match", {{"paths", {"admin"}}}}}), "/policies/0/match/paths/0", "normalised path");
    expect_error_like(one({{"match", {{"paths", {"/a/../admin"}}}}}), "/policies/0/match/paths/0", "\"/admin\"");
    expect_error_like(one({{"match", {{"paths", {"//admin"}}}}}), "/policies/0/match/paths/0", "normalised path");
    expect_error_like(one({{"match", {{"paths", {"/admin;x"}}}}}), "/policies/0/match/paths/0", "normalised path");
    expect_error_like(one({{"match", {{"paths", {"/admin?x"}}}}}), "/policies/0/match/paths/0", "normalised path");
    expect_error_like(one({{"match", {{"paths", {"/%61dmin"}}}}}), "/policies/0/match/paths/0", "normalised path");
    expect_error_like(one({{"match", {{"paths", json::array()}}}}), "/policies/0/match/paths", "must not be empty");
    expect_error_like(one({{"match", {{"verbs", {"GET"}}}}}), "/policies/0/match/verbs", "unknown key");
    expect_error_like(one({{"deny", {{"action", "forward"}}}}), "/policies/0/deny/action",
                      "\"reject\" or \"redirect\"");
    expect_error_like(one({{"deny", {{"action", "redirect"}}}}), "/policies/0/deny/location", "required");
    expect_error_like(one({{"mode", "audit"}}), "/policies/0/mode", "\"enforce\", \"report\"");
    expect_error_like(json::parse(R"({"name":"a"})"), "/policies", "array");
}
