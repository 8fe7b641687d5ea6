#define BOOST_TEST_MODULE policy
#include <boost/test/unit_test.hpp>

#include "core/policy/facts.hpp"
#include "core/policy/policy.hpp"

#include <nlohmann/json.hpp>

#include <fstream>

using namespace ig;

namespace {

constexpr std::int64_t hour_ms = 3600 * 1000;
const std::int64_t now_ms = *parse_graph_time("2026-11-26T12:00:00Z");

Policy named(std::string name, std::vector<std::string> hosts, std::vector<std::string> paths) {
    Policy p;
    p.name = std::move(name);
    for (auto& h : hosts) p.hosts.push_back(make_host_pattern(h));
    p.paths = std::move(paths);
    return p;
}

Requirements all_requirements() {
    Requirements r;
    r.os = {{"Windows", "10.0.22631"}, {"macOS", "14.5"}, {"iOS", "17.5"}, {"Android", "14"}};
    r.encrypted = true;
    r.jailbroken = false;
    r.owner = {"company"};
    r.max_sync_age_h = 72;
    return r;
}

DeviceFacts good_mac() {
    DeviceFacts f;
    f.read = all_facts;
    f.operating_system = "macOS";
    f.os_version = "14.5 (23F79)";
    f.encrypted = true;
    f.jailbroken = "False";
    f.owner = "company";
    f.last_sync_ms = now_ms - 2 * hour_ms;
    return f;
}

std::string failed(const DeviceFacts& f, Outcome o = Outcome::Compliant) {
    auto r = first_failure(all_requirements(), o, f, now_ms);
    return r ? std::string(to_string(r->requirement)) + ": " + r->detail : "pass";
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_first_policy_that_fits_applies) {
    std::vector<Policy> ps{named("admin", {"admin.example.com"}, {"/admin"}), named("ops", {"*.ops.example.com"}, {}),
                           named("api", {}, {"/api/admin/"}), named("rest", {}, {})};
    auto which = [&](std::string_view host, std::string_view path) {
        auto p = first_policy(ps, RequestTarget{host, path});
        return p ? p->name : std::string("none");
    };
    BOOST_TEST(which("admin.example.com", "/admin/x") == "admin");
    BOOST_TEST(which("admin.example.com", "/administrator") == "rest");
    BOOST_TEST(which("other.example.com", "/admin") == "rest");
    BOOST_TEST(which("a.ops.example.com", "/admin") == "ops");
    BOOST_TEST(which("ops.example.com", "/api/admin/x") == "api");
    BOOST_TEST(which("ops.example.com", "/api/admin") == "rest");
    ps.pop_back();
    BOOST_TEST(which("x.example.com", "/") == "none");
}

BOOST_AUTO_TEST_CASE(a_device_meeting_everything_passes) {
    BOOST_TEST(failed(good_mac()) == "pass");
    auto all = check_requirements(all_requirements(), Outcome::Compliant, good_mac(), now_ms);
    BOOST_TEST(all.size() == 6u);
}

BOOST_AUTO_TEST_CASE(each_requirement_fails_alone_in_order) {
    BOOST_TEST(failed(good_mac(), Outcome::InGracePeriod) == "outcomes: outcome InGracePeriod is not one of Compliant");
    auto f = good_mac();
    f.os_version = "13.6.1";
    BOOST_TEST(failed(f) == "os: macOS 13.6.1 is older than 14.5");
    f = good_mac();
    f.operating_system = "Linux";
    BOOST_TEST(failed(f) == "os: Linux is not an allowed operating system");
    f = good_mac();
    f.encrypted = false;
    BOOST_TEST(failed(f) == "encrypted: the device is not encrypted");
    f = good_mac();
    f.jailbroken = "True";
    BOOST_TEST(failed(f) == "jailbroken: the device is jailbroken or rooted");
    f = good_mac();
    f.owner = "personal";
    BOOST_TEST(failed(f) == "owner: owner personal is not one of company");
    f = good_mac();
    f.last_sync_ms = now_ms - 100 * hour_ms;
    BOOST_TEST(failed(f) == "max_sync_age_h: last check-in with Intune 100 hours ago, more than 72");
    // Two failing: the first in order names the denial.
    f = good_mac();
    f.owner = "personal";
    f.encrypted = false;
    BOOST_TEST(failed(f).starts_with("encrypted:"));
}

BOOST_AUTO_TEST_CASE(missing_or_unknown_facts_fail_closed) {
    auto f = good_mac();
    f.operating_system.clear();
    BOOST_TEST(failed(f).starts_with("os:"));
    f = good_mac();
    f.os_version = "Unknown";
    BOOST_TEST(failed(f).starts_with("os:"));
    f = good_mac();
    f.os_version.clear();
    BOOST_TEST(failed(f).starts_with("os:"));
    f = good_mac();
    f.encrypted.reset();
    BOOST_TEST(failed(f).starts_with("encrypted:"));
    f = good_mac();
    f.jailbroken = "Unknown";
    BOOST_TEST(failed(f).starts_with("jailbroken:"));
    f = good_mac();
    f.jailbroken.clear();
    BOOST_TEST(failed(f).starts_with("jailbroken:"));
    f = good_mac();
    f.owner = "unknown";
    BOOST_TEST(failed(f).starts_with("owner:"));
    f = good_mac();
    f.last_sync_ms.reset();
    BOOST_TEST(failed(f) == "max_sync_age_h: the device has never checked in with Intune");
}

BOOST_AUTO_TEST_CASE(os_names_ignore_case_and_zero_admits_every_version) {
    Requirements r;
    r.os = {{"windows", "0"}};
    auto f = good_mac();
    f.operating_system = "Windows";
    f.os_version = "6.1";
    BOOST_TEST(!first_failure(r, Outcome::Compliant, f, now_ms));
    r.os = {{"Windows", "10.0.22631"}};
    f.os_version = "10.0.22631.4460";
    BOOST_TEST(!first_failure(r, Outcome::Compliant, f, now_ms));
    f.os_version = "10.0.19045.5131";
    BOOST_TEST(first_failure(r, Outcome::Compliant, f, now_ms).has_value());
}

BOOST_AUTO_TEST_CASE(graph_times) {
    BOOST_TEST(*parse_graph_time("1970-01-01T00:00:00Z") == 0);
    BOOST_TEST(*parse_graph_time("1970-01-01T00:00:01.5Z") == 1500);
    BOOST_TEST(*parse_graph_time("2017-01-01T00:02:49.3205976-08:00") == *parse_graph_time("2017-01-01T08:02:49.320Z"));
    BOOST_TEST(!parse_graph_time("0001-01-01T00:00:00Z"));
    BOOST_TEST(!parse_graph_time(""));
    BOOST_TEST(!parse_graph_time("2024-13-01T00:00:00Z"));
    BOOST_TEST(!parse_graph_time("2024-01-01 00:00:00"));
    BOOST_TEST(!parse_graph_time("2024-01-01T00:00:00"));
}

// The samples of tests/fixtures/graph/managed-devices-facts.json, one per platform, as Graph sends them.
BOOST_AUTO_TEST_CASE(facts_from_graph_samples) {
    std::ifstream in(IG_SOURCE_DIR "/tests/fixtures/graph/managed-devices-facts.json");
    BOOST_REQUIRE(in);
    const auto doc = nlohmann::json::parse(in);
    const auto& devices = doc.at("value");
    BOOST_REQUIRE(devices.size() >= 4u);
    auto win = read_device_facts(devices[0], all_facts);
    BOOST_TEST(win.operating_system == "Windows");
    BOOST_TEST(win.os_version == "10.0.22631.4460");
    BOOST_TEST((win.encrypted == std::optional<bool>(true)));
    BOOST_TEST(win.jailbroken == "Unknown");
    BOOST_TEST(win.owner == "company");
    BOOST_TEST(win.last_sync_ms.has_value());
    auto mac = read_device_facts(devices[1], all_facts);
    BOOST_TEST(mac.os_version == "14.5 (23F79)");
    auto never = read_device_facts(devices[3], all_facts);
    BOOST_TEST(never.os_version == "14");
    BOOST_TEST(!never.last_sync_ms.has_value());
    // Only what was asked for is read.
    auto some = read_device_facts(devices[0], fact_owner);
    BOOST_TEST(some.operating_system.empty());
    BOOST_TEST(some.owner == "company");
    BOOST_TEST(some.has(fact_owner));
    BOOST_TEST(!some.has(fact_os));
}

BOOST_AUTO_TEST_CASE(facts_round_trip_through_json) {
    auto f = good_mac();
    auto back = facts_from_json(facts_to_json(f));
    BOOST_REQUIRE(back);
    BOOST_TEST((*back == f));
    BOOST_TEST(!facts_from_json(nlohmann::json{{"read", 99}}));
    BOOST_TEST(!facts_from_json(nlohmann::json{{"read", 1}, {"os_version", 5}}));
    BOOST_TEST(!facts_from_json(nlohmann::json{{"read", 1}, {"os_version", "a\nb"}}));
}
