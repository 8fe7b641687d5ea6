// The shared cache's value codec: what one instance writes, another reads back unchanged; what
// is not exactly that (another format, another device, an outcome that does not match its state,
// expired, oversized, broken JSON inside) is refused and never becomes a verdict.
#define BOOST_TEST_MODULE shared_value
#include <boost/test/unit_test.hpp>

#include "core/shared/shared_value.hpp"

#include <nlohmann/json.hpp>

using namespace ig;
using nlohmann::json;

namespace {
const std::string id = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";
const std::string other = "3f2504e0-4f89-41d3-9a0c-0305e82c3302";
constexpr std::int64_t now = 1'800'000'000'000;

Verdict compliant() {
    Verdict v;
    v.outcome = Outcome::Compliant;
    v.compliance_state = "compliant";
    v.reason = "complianceState compliant";
    v.device_json = R"({"deviceName":"pc-1","osVersion":"10.0"})";
    v.apps_json = R"([{"displayName":"a","version":"1","publisher":"Contoso"}])";
    v.apps_truncated = 40;  // the header kept some of 40 apps
    v.fetched_at_ms = now - 1000;
    return v;
}

std::string why_refused(const std::string& text, const std::string& device = id) {
    std::string why;
    auto v = decode_shared_value(text, device, now, &why);
    BOOST_TEST(!v.has_value());
    return why;
}

json doc() { return json::parse(encode_shared_value(id, compliant(), now + 60000)); }
}  // namespace

BOOST_AUTO_TEST_CASE(round_trip_keeps_the_verdict_and_marks_it_shared) {
    auto text = encode_shared_value(id, compliant(), now + 60000);
    auto back = decode_shared_value(text, id, now);
    BOOST_TEST_REQUIRE(back.has_value());
    BOOST_TEST(to_string(back->verdict.outcome) == "Compliant");
    BOOST_TEST(back->verdict.compliance_state == "compliant");
    BOOST_TEST(back->verdict.device_json == compliant().device_json);
    BOOST_TEST(back->verdict.apps_json.value_or("") == *compliant().apps_json);
    BOOST_TEST(back->verdict.apps_truncated.value_or(0) == 40u);
    BOOST_TEST(!back->verdict.device_truncated.has_value());
    BOOST_TEST(back->verdict.fetched_at_ms == now - 1000);
    BOOST_TEST(back->expires_at_ms == now + 60000);
    BOOST_TEST(to_string(back->verdict.source) == "shared");
    BOOST_TEST(!back->verdict.stale_age_s.has_value());
}

BOOST_AUTO_TEST_CASE(device_not_found_round_trips_with_an_empty_state) {
    Verdict v;
    v.outcome = Outcome::NotCompliant;
    v.reason = "device not found in Intune";
    v.fetched_at_ms = now;
    auto back = decode_shared_value(encode_shared_value(id, v, now + 1000), id, now);
    BOOST_TEST_REQUIRE(back.has_value());
    BOOST_TEST(to_string(back->verdict.outcome) == "NotCompliant");
    BOOST_TEST(!back->verdict.apps_json.has_value());
}

BOOST_AUTO_TEST_CASE(errors_are_never_stored) {
    Verdict v;
    v.outcome = Outcome::Error;
    v.reason = "graph unreachable";
    BOOST_TEST(encode_shared_value(id, v, now + 1000).empty());
}

BOOST_AUTO_TEST_CASE(a_value_for_another_device_is_refused) {
    BOOST_TEST(why_refused(encode_shared_value(other, compliant(), now + 60000)) == "names another device");
}

BOOST_AUTO_TEST_CASE(foreign_values_are_refused) {
    BOOST_TEST(why_refused("compliant") == "not a JSON object");
    BOOST_TEST(why_refused("") == "not a JSON object");
    BOOST_TEST(why_refused(R"({"outcome":"Compliant"})") == "not our format or version");
    auto d = doc();
    d["v"] = 1;  // before device facts
    BOOST_TEST(why_refused(d.dump()) == "not our format or version");
    d["v"] = 3;
    BOOST_TEST(why_refused(d.dump()) == "not our format or version");
    d = doc();
    d["format"] = "someone-else";
    BOOST_TEST(why_refused(d.dump()) == "not our format or version");
    BOOST_TEST(why_refused(std::string(max_shared_value_bytes + 1, ' ')) == "too large");
}

BOOST_AUTO_TEST_CASE(inconsistent_values_are_refused) {
    auto d = doc();
    d["outcome"] = "Compliant";
    d["compliance_state"] = "noncompliant";
    BOOST_TEST(why_refused(d.dump()) == "outcome does not match compliance_state");
    d = doc();
    d["outcome"] = "Error";
    BOOST_TEST(why_refused(d.dump()) == "no usable outcome");
    d = doc();
    d["outcome"] = "Trusted";
    BOOST_TEST(why_refused(d.dump()) == "no usable outcome");
    d = doc();
    d["compliance_state"] = "compliant\r\nX-Evil: 1";
    BOOST_TEST(why_refused(d.dump()) == "bad compliance_state");
    d = doc();
    d["device"] = "not json";
    BOOST_TEST(why_refused(d.dump()) == "bad device properties");
    d = doc();
    d["apps"] = json::object();
    BOOST_TEST(why_refused(d.dump()) == "bad installed apps");
    d = doc();
    d["fetched_at_ms"] = now + 3'600'000;  // an hour in the future
    BOOST_TEST(why_refused(d.dump()) == "bad times");
    d = doc();
    d["expires_at_ms"] = "soon";
    BOOST_TEST(why_refused(d.dump()) == "bad times");
    d = doc();
    d["apps_truncated"] = -1;
    BOOST_TEST(why_refused(d.dump()) == "bad truncation count");
}

BOOST_AUTO_TEST_CASE(values_nested_too_deep_are_refused) {
    const std::string deep = std::string(200000, '[') + std::string(200000, ']');
    auto text = encode_shared_value(id, compliant(), now + 60000);
    BOOST_TEST(why_refused(text.substr(0, text.size() - 1) + ",\"x\":" + deep + "}") == "not a JSON object");
    auto d = doc();
    d["device"] = "{\"x\":" + deep + "}";
    BOOST_TEST(why_refused(d.dump()) == "bad device properties");
    d = doc();
    d["apps"] = deep;
    BOOST_TEST(why_refused(d.dump()) == "bad installed apps");
}

BOOST_AUTO_TEST_CASE(expired_values_are_refused) {
    BOOST_TEST(why_refused(encode_shared_value(id, compliant(), now - 1)) == "expired");
}

BOOST_AUTO_TEST_CASE(keys_carry_the_prefix_and_a_version) {
    BOOST_TEST(shared_verdict_key("ig:", id) == "ig:v1:verdict:" + id);
    BOOST_TEST(shared_lock_key("ig:", id) == "ig:v1:lock:" + id);
    BOOST_TEST(shared_sync_lease_key("ig:") == "ig:v1:sync-lease");
}

// Device facts (access policies) travel with the verdict; a value without the facts a policy now
// needs is refused, so the device is read from Graph again; broken facts are refused.
BOOST_AUTO_TEST_CASE(device_facts_round_trip_and_are_checked) {
    Verdict v = compliant();
    v.facts.read = fact_os | fact_last_sync;
    v.facts.operating_system = "macOS";
    v.facts.os_version = "14.5 (23F79)";
    v.facts.last_sync_ms = now - 3600000;
    auto text = encode_shared_value(id, v, now + 60000);
    auto back = decode_shared_value(text, id, now, nullptr, fact_os);
    BOOST_TEST_REQUIRE(back.has_value());
    BOOST_TEST((back->verdict.facts == v.facts));
    std::string why;
    BOOST_TEST(!decode_shared_value(text, id, now, &why, fact_os | fact_owner));
    BOOST_TEST(why == "lacks device facts the policies need");
    BOOST_TEST(!decode_shared_value(encode_shared_value(id, compliant(), now + 60000), id, now, &why, fact_os));
    auto d = json::parse(text);
    d["facts"]["os_version"] = std::string("14\r\nX: 1");
    BOOST_TEST(why_refused(d.dump()) == "bad device facts");
    d = json::parse(text);
    d["facts"]["read"] = 64;
    BOOST_TEST(why_refused(d.dump()) == "bad device facts");
    d = json::parse(text);
    d["facts"]["encrypted"] = "yes";
    BOOST_TEST(why_refused(d.dump()) == "bad device facts");
}
