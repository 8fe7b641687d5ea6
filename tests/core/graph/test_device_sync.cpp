// The bulk sync against the in-process emulator's synthetic tenant: every page read, every verdict
// cached with source "sync" (a lookup then asks Graph nothing), and a sync that fails part-way
// keeps what it read. Also the help-desk API: inspect() and invalidate().
#define BOOST_TEST_MODULE device_sync
#include "tests/support/core_env.hpp"

#include "tests/emulator/device_list.hpp"

using namespace ig;
using namespace ig::test::core;
using namespace std::chrono_literals;

namespace {

struct SyncEnv : Env {
    // Env's emulator has no synthetic devices; this one adds `n`.
    explicit SyncEnv(std::size_t n) : big(make(n)) { config = base_config(big->origin()); }
    static std::unique_ptr<ig::test::GraphEmulator> make(std::size_t n) {
        auto o = emulator_options();
        o.synthetic_devices = n;
        return std::make_unique<ig::test::GraphEmulator>(o);
    }
    ~SyncEnv() { service.reset(); }  // before the emulator goes
    std::unique_ptr<ig::test::GraphEmulator> big;

    template <class Pred>
    bool wait_until(Pred p, std::chrono::seconds limit = 60s) {
        const auto end = std::chrono::steady_clock::now() + limit;
        while (std::chrono::steady_clock::now() < end) {
            if (p()) return true;
            std::this_thread::sleep_for(2ms);
        }
        return p();
    }
    int tenant_stat(const char* name) const { return big->stats().value(name, 0); }
    int tenant_device_requests(const std::string& id) const { return big->stats()["device_requests"].value(id, 0); }
};

std::size_t file_devices() {
    std::ifstream in(devices_file());
    return nlohmann::json::parse(in)["devices"].size();
}

}  // namespace

BOOST_AUTO_TEST_CASE(sync_reads_every_page_and_a_first_lookup_asks_graph_nothing) {
    SyncEnv env(2500);
    env.config.sync.interval = 3600s;
    env.config.sync.page_size = 1000;
    env.svc().start_token_refresh();
    BOOST_TEST_REQUIRE(env.wait_until([&] { return env.metrics.sync.runs_ok.get() == 1; }));
    const auto total = 2500 + file_devices();
    BOOST_TEST(env.tenant_stat("list_requests") == static_cast<int>((total + 999) / 1000));
    // Every device but the one whose complianceState is "error" (Error is never cached).
    BOOST_TEST(env.metrics.sync.last_devices.get() == static_cast<std::int64_t>(total - 1));
    BOOST_TEST(env.metrics.sync.last_pages.get() == static_cast<std::int64_t>((total + 999) / 1000));

    auto compliant = env.svc().inspect(test::emu::synthetic_device_id(5));
    BOOST_TEST_REQUIRE(compliant.has_value());
    BOOST_TEST(to_string(compliant->verdict.source) == "sync");
    BOOST_TEST(to_string(compliant->verdict.outcome) == "Compliant");
    BOOST_TEST(compliant->ttl_s > 0);
    BOOST_TEST(compliant->age_s < 60);
    auto non = env.svc().inspect(test::emu::synthetic_device_id(9));
    BOOST_TEST_REQUIRE(non.has_value());
    BOOST_TEST(to_string(non->verdict.outcome) == "NotCompliant");
    // A synced verdict lasts until the next full sync (interval plus 10 minutes of grace), whatever
    // its outcome, not the per-outcome TTL (README: sync).
    BOOST_TEST(non->ttl_s > 3600 + 590);
    BOOST_TEST(non->ttl_s <= 3600 + 600);
    BOOST_TEST(compliant->ttl_s > 3600 + 590);

    auto v = env.check(test::emu::synthetic_device_id(2001));
    BOOST_TEST(to_string(v.outcome) == "Compliant");
    BOOST_TEST(to_string(v.source) == "sync");
    BOOST_TEST(env.tenant_device_requests(test::emu::synthetic_device_id(2001)) == 0);

    // The help desk drops a verdict: the next lookup asks Graph.
    std::promise<void> dropped;
    env.svc().invalidate(test::emu::synthetic_device_id(2001), [&] { dropped.set_value(); });
    BOOST_TEST_REQUIRE((dropped.get_future().wait_for(20s) == std::future_status::ready));
    BOOST_TEST(!env.svc().inspect(test::emu::synthetic_device_id(2001)).has_value());
    auto again = env.check(test::emu::synthetic_device_id(2001));
    BOOST_TEST(to_string(again.source) == "graph");
    BOOST_TEST(env.tenant_device_requests(test::emu::synthetic_device_id(2001)) == 1);
}

// device_id.lookup either: each synced verdict is also kept under the device's Entra ID, with
// Intune's id; an Entra ID two listed devices claim is kept under neither (the filter decides: Error).
BOOST_AUTO_TEST_CASE(sync_keeps_entra_ids_but_not_one_two_devices_claim) {
    SyncEnv env(20);
    env.config.lookup = DeviceLookup::Either;
    env.config.save_installed_apps = false;
    env.config.sync.interval = 3600s;
    env.config.sync.page_size = 8;  // the twin is on another page than device 7
    const std::string twin = "7e000000-0000-4000-8000-000000000007";
    env.big->set_device(twin, {{"id", twin},
                               {"complianceState", "compliant"},
                               {"managementAgent", "mdm"},
                               {"azureADDeviceId", test::emu::synthetic_entra_id(7)}});
    env.svc().start_token_refresh();
    BOOST_TEST_REQUIRE(env.wait_until([&] { return env.metrics.sync.runs_ok.get() == 1; }));
    auto alias = env.svc().inspect(test::emu::synthetic_entra_id(5));
    BOOST_TEST_REQUIRE(alias.has_value());
    BOOST_TEST(alias->verdict.managed_device_id == test::emu::synthetic_device_id(5));
    BOOST_TEST(to_string(alias->verdict.source) == "sync");
    BOOST_TEST(env.svc().inspect(twin).has_value());
    BOOST_TEST(env.svc().inspect(test::emu::synthetic_device_id(7)).has_value());
    BOOST_TEST(!env.svc().inspect(test::emu::synthetic_entra_id(7)).has_value());
    auto v = env.check(test::emu::synthetic_entra_id(7));
    BOOST_TEST(to_string(v.outcome) == "Error");
    BOOST_TEST(v.reason.rfind("ambiguous Entra device ID", 0) == 0, v.reason);
}

BOOST_AUTO_TEST_CASE(installed_apps_of_a_synced_device_are_read_on_its_first_request_only) {
    SyncEnv env(10);
    env.config.sync.interval = 3600s;
    env.config.save_installed_apps = true;
    env.svc().start_token_refresh();
    BOOST_TEST_REQUIRE(env.wait_until([&] { return env.metrics.sync.runs_ok.get() == 1; }));
    BOOST_TEST(env.tenant_stat("app_requests") == 0);  // the list has no apps; the sync asks for none
    // The proxy's fast path does not answer for it: the apps are still to be read.
    BOOST_TEST(!env.svc().cached(guid("3401")).has_value());

    auto v = env.check(guid("3401"));
    BOOST_TEST(to_string(v.outcome) == "Compliant");
    BOOST_TEST(to_string(v.source) == "sync");
    BOOST_TEST(env.tenant_device_requests(guid("3401")) == 0);
    const int app_pages = env.tenant_stat("app_requests");
    BOOST_TEST(app_pages == 3);  // five apps, two a page
    BOOST_TEST_REQUIRE(v.apps_json.has_value());
    BOOST_TEST(nlohmann::json::parse(*v.apps_json).size() == 5u);

    auto again = env.svc().cached(guid("3401"));
    BOOST_TEST_REQUIRE(again.has_value());
    BOOST_TEST(again->apps_json.value_or("") == *v.apps_json);
    env.check(guid("3401"));
    BOOST_TEST(env.tenant_stat("app_requests") == app_pages);
    BOOST_TEST(env.tenant_device_requests(guid("3401")) == 0);
}

BOOST_AUTO_TEST_CASE(a_sync_failing_part_way_keeps_what_it_read) {
    SyncEnv env(20000);
    env.config.sync.interval = 3600s;
    env.config.sync.page_size = 1;  // one device a page: thousands of pages, time to fail in between
    env.svc().start_token_refresh();
    BOOST_TEST_REQUIRE(env.wait_until([&] { return env.metrics.sync.pages.get() >= 3; }));
    env.big->set_fault("list", {{"status", 400}});  // not retried: the sync stops at the next page
    BOOST_TEST_REQUIRE(env.wait_until([&] { return env.metrics.sync.runs_failed.get() == 1; }));
    BOOST_TEST(env.metrics.sync.runs_ok.get() == 0u);
    const auto pages = env.metrics.sync.last_pages.get();
    BOOST_TEST(pages >= 3);
    BOOST_TEST(pages < 20000);
    // The first page held the file's lowest id: still cached from the sync.
    auto first = env.svc().inspect(guid("3301"));
    BOOST_TEST_REQUIRE(first.has_value());
    BOOST_TEST(to_string(first->verdict.source) == "sync");
    BOOST_TEST(to_string(first->verdict.outcome) == "Compliant");
}

// Issue 26 item 16: a three-page @odata.nextLink cycle made 100,000 list calls in one sync. Every
// link of a run is remembered, so the run ends at the first link it has read before.
BOOST_AUTO_TEST_CASE(a_next_link_cycle_of_three_pages_ends_the_sync_at_the_first_repeat) {
    SyncEnv env(10);
    env.config.sync.interval = 3600s;
    env.config.sync.page_size = 1;
    env.big->set_fault("list", {{"list_cycle", 3}});  // page 4 links back to page 2
    env.svc().start_token_refresh();
    BOOST_TEST_REQUIRE(env.wait_until([&] { return env.metrics.sync.runs_failed.get() == 1; }, 20s));
    BOOST_TEST(env.metrics.sync.runs_ok.get() == 0u);
    BOOST_TEST(env.tenant_stat("list_requests") == 4);
    BOOST_TEST(env.metrics.sync.last_pages.get() == 4);
    BOOST_TEST(env.metrics.sync.last_devices.get() == 4);
    // What the pages held stays cached.
    auto first = env.svc().inspect(guid("3301"));
    BOOST_TEST_REQUIRE(first.has_value());
    BOOST_TEST(to_string(first->verdict.source) == "sync");
}

BOOST_AUTO_TEST_CASE(a_page_nested_a_million_levels_deep_fails_the_sync_not_the_process) {
    SyncEnv env(5);
    env.config.sync.interval = 3600s;
    env.big->set_fault("list", {{"deep_json", 1'000'000}});  // inside the page's first device
    env.svc().start_token_refresh();
    BOOST_TEST_REQUIRE(env.wait_until([&] { return env.metrics.sync.runs_failed.get() == 1; }));
    BOOST_TEST(env.metrics.sync.runs_ok.get() == 0u);
    BOOST_TEST(!env.svc().inspect(test::emu::synthetic_device_id(1)).has_value());
}

BOOST_AUTO_TEST_CASE(stale_if_error_serves_the_last_answer_marked_with_its_age) {
    Env env;
    env.config.cache.compliant_ttl = 1s;
    env.config.stale_if_error = 3600s;
    BOOST_TEST(to_string(env.check(guid("3301")).outcome) == "Compliant");
    std::this_thread::sleep_for(1100ms);  // the entry expires (kept for stale-if-error)
    env.emulator.set_fault(guid("3301"), {{"status", 503}});
    auto v = env.check(guid("3301"));
    BOOST_TEST(to_string(v.outcome) == "Compliant");
    BOOST_TEST(to_string(v.source) == "stale");
    BOOST_TEST_REQUIRE(v.stale_age_s.has_value());
    BOOST_TEST(*v.stale_age_s >= 1);
    BOOST_TEST(env.metrics.stale_served.get() == 1u);
    auto kept = env.svc().inspect(guid("3301"));  // the help desk sees it as stale
    BOOST_TEST_REQUIRE(kept.has_value());
    BOOST_TEST(to_string(kept->verdict.source) == "stale");
    BOOST_TEST(kept->ttl_s == 0);
    // Never without it: a device Graph never answered for is Error.
    env.emulator.set_fault(guid("3302"), {{"status", 503}});
    BOOST_TEST(to_string(env.check(guid("3302")).outcome) == "Error");
}

// Found by the soak (issue 27): Graph answering complianceState "error" is an answer, not a failure
// of Graph; the device's earlier (say Compliant) verdict must not stand in for it.
BOOST_AUTO_TEST_CASE(stale_if_error_keeps_a_device_whose_state_is_error) {
    Env env;
    env.config.cache.compliant_ttl = 1s;
    env.config.stale_if_error = 3600s;
    BOOST_TEST(to_string(env.check(guid("3301")).outcome) == "Compliant");
    std::this_thread::sleep_for(1100ms);  // expired, kept for stale-if-error
    env.emulator.set_device(guid("3301"), {{"deviceName", "NOW-IN-ERROR"}, {"complianceState", "error"}});
    auto v = env.check(guid("3301"));
    BOOST_TEST(to_string(v.outcome) == "Error");
    BOOST_TEST(v.compliance_state == "error");
    BOOST_TEST(!v.stale_age_s.has_value());
    BOOST_TEST(env.metrics.stale_served.get() == 0u);
}

BOOST_AUTO_TEST_CASE(stale_if_error_off_fails_closed) {
    Env env;
    env.config.cache.compliant_ttl = 1s;
    BOOST_TEST(to_string(env.check(guid("3301")).outcome) == "Compliant");
    std::this_thread::sleep_for(1100ms);
    env.emulator.set_fault(guid("3301"), {{"status", 503}});
    auto v = env.check(guid("3301"));
    BOOST_TEST(to_string(v.outcome) == "Error");
    BOOST_TEST(!v.stale_age_s.has_value());
    BOOST_TEST(env.metrics.stale_served.get() == 0u);
}
