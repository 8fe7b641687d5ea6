#include "core/graph/changes_sync.hpp"

#include "core/policy/facts.hpp"

#include <ctime>

namespace ig {

std::int64_t changes_since_ms(std::optional<std::int64_t> base_ms, std::int64_t now_ms,
                              std::chrono::seconds changes_interval) {
    const auto margin = std::chrono::duration_cast<std::chrono::milliseconds>(changes_margin).count();
    const auto interval = std::chrono::duration_cast<std::chrono::milliseconds>(changes_interval).count();
    const std::int64_t since = (base_ms ? *base_ms : now_ms - interval) - margin;
    return since - since % 1000;
}

std::string graph_time(std::int64_t unix_ms) {
    const std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::string changes_guard(const nlohmann::json& value, std::int64_t since_ms) {
    for (const auto& device : value) {
        auto it = device.is_object() ? device.find("lastSyncDateTime") : device.end();
        if (it == device.end() || !it->is_string())
            return "a device without lastSyncDateTime in the answer (the filter was ignored?)";
        auto at = parse_graph_time(it->get_ref<const std::string&>());
        if (!at) return "a device with an unreadable lastSyncDateTime in the answer";
        // Millisecond precision: a device within T's own millisecond passes (Graph's gt is exact).
        if (*at < since_ms)
            return "a device that last checked in at " + graph_time(*at) + ", before " + graph_time(since_ms) +
                   ", in the answer (the filter was ignored)";
    }
    return {};
}

boost::asio::awaitable<SyncResult> sync_changed_devices(GraphClient& graph, const IntuneConfig& config,
                                                        std::int64_t since_ms,
                                                        const std::function<void(const std::string&, Verdict)>& each) {
    auto first = graph.changes_page(config.sync.page_size, graph_time(since_ms));
    auto check = [since_ms](const nlohmann::json& value) { return changes_guard(value, since_ms); };
    co_return co_await sync_devices(graph, config, std::move(first), check, each, {});
}

}  // namespace ig
