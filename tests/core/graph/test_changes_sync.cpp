// The changes sync's T and its guard against a filter Graph ignored (README:
// sync.changes_interval_s): a page counts only when every device in it checked in after T.
#define BOOST_TEST_MODULE changes_sync
#include <boost/test/unit_test.hpp>

#include "core/graph/changes_sync.hpp"

#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

using namespace ig;

namespace {
std::string fixture(const std::string& name) {
    std::ifstream in(std::string(IG_SOURCE_DIR) + "/tests/fixtures/graph/" + name);
    std::stringstream s;
    s << in.rdbuf();
    BOOST_REQUIRE(!s.str().empty());
    return s.str();
}
nlohmann::json value_of(const std::string& name) { return nlohmann::json::parse(fixture(name)).at("value"); }

// 2026-12-03T17:50:00Z
constexpr std::int64_t t_ms = 1796320200000;
nlohmann::json synced_at(const char* when) {
    return {{"id", "3e2d1c0b-9a8f-4e7d-8c6b-5a4f3e2d1c0b"}, {"lastSyncDateTime", when}};
}
}  // namespace

BOOST_AUTO_TEST_CASE(graph_time_is_iso8601_utc_whole_seconds) {
    BOOST_TEST(graph_time(t_ms) == "2026-12-03T17:50:00Z");
    BOOST_TEST(graph_time(t_ms + 999) == "2026-12-03T17:50:00Z");
}

BOOST_AUTO_TEST_CASE(since_is_the_previous_start_minus_five_minutes) {
    const std::int64_t base = t_ms + 123'456;  // 17:52:03.456
    const auto since = changes_since_ms(base, base + 60'000, std::chrono::seconds(60));
    BOOST_TEST(since == t_ms + 123'000 - 300'000);  // whole seconds, 5 minutes before the base
    BOOST_TEST(graph_time(since) == "2026-12-03T17:47:03Z");
}

BOOST_AUTO_TEST_CASE(since_without_a_previous_round_is_one_interval_and_the_margin_back) {
    const auto since = changes_since_ms(std::nullopt, t_ms, std::chrono::seconds(120));
    BOOST_TEST(since == t_ms - 120'000 - 300'000);
}

BOOST_AUTO_TEST_CASE(the_answer_to_the_filter_passes) {
    BOOST_TEST(changes_guard(value_of("changes-filter.json"), t_ms) == "");
    BOOST_TEST(changes_guard(nlohmann::json::array(), t_ms) == "");
}

BOOST_AUTO_TEST_CASE(every_device_because_the_filter_was_ignored_is_refused) {
    auto why = changes_guard(value_of("entra-filter-ignored.json"), t_ms);
    BOOST_TEST(!why.empty());
    BOOST_TEST(why.find('\n') == std::string::npos);
}

BOOST_AUTO_TEST_CASE(one_device_before_t_refuses_the_whole_page) {
    auto value = value_of("changes-filter.json");
    value.push_back(synced_at("2026-12-03T17:49:59Z"));
    auto why = changes_guard(value, t_ms);
    BOOST_TEST(why.find("2026-12-03T17:49:59Z") != std::string::npos);
    BOOST_TEST(why.find("filter was ignored") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_device_without_a_readable_time_is_refused) {
    for (auto bad :
         {nlohmann::json{{"id", "x"}}, nlohmann::json{{"lastSyncDateTime", nullptr}},
          nlohmann::json{{"lastSyncDateTime", 1796320300}}, nlohmann::json{{"lastSyncDateTime", "yesterday"}},
          nlohmann::json{{"lastSyncDateTime", "0001-01-01T00:00:00Z"}}, nlohmann::json("not an object")}) {
        BOOST_TEST_INFO(bad.dump());
        BOOST_TEST(!changes_guard(nlohmann::json::array({synced_at("2026-12-03T17:55:00Z"), bad}), t_ms).empty());
    }
}

BOOST_AUTO_TEST_CASE(offsets_and_fractions_are_read_as_graph_writes_them) {
    BOOST_TEST(changes_guard(nlohmann::json::array({synced_at("2026-12-03T18:50:01+01:00")}), t_ms) == "");
    BOOST_TEST(!changes_guard(nlohmann::json::array({synced_at("2026-12-03T18:49:59+01:00")}), t_ms).empty());
    BOOST_TEST(changes_guard(nlohmann::json::array({synced_at("2026-12-03T17:50:00.0000001Z")}), t_ms) == "");
}
