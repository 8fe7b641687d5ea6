#include "core/graph/device_sync.hpp"

#include "core/graph/odata_pager.hpp"
#include "core/identity/device_id.hpp"
#include "core/shared/shared_value.hpp"
#include "core/verdict/decision.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace ig {
namespace net = boost::asio;

int max_sync_pages(std::size_t page_size) {
    const auto size = std::max<std::size_t>(page_size, 1);
    return static_cast<int>(std::min<std::size_t>(max_tenant_devices / size + 1, max_sync_page_count));
}

net::awaitable<SyncResult> sync_all_devices(GraphClient& graph, const IntuneConfig& config,
                                            const std::function<void(const std::string&, Verdict)>& each,
                                            const std::function<void(const SyncResult&)>& page_done) {
    SyncResult out;
    // A background job can wait out a Retry-After that a login could not.
    const auto page_time = std::max<std::chrono::milliseconds>(config.timeout, std::chrono::seconds(30));
    PageRequest req{"managedDevices list",
                    graph.list_page(config.sync.page_size),
                    max_sync_pages(config.sync.page_size),
                    [page_time] { return Clock::now() + page_time; },
                    {}};
    auto run = co_await read_pages(graph, std::move(req), [&](nlohmann::json& value, const PageRun& progress) {
        out.pages = progress.pages;
        const auto now = unix_ms();
        for (const auto& device : value) {
            auto id_it = device.is_object() ? device.find("id") : device.end();
            std::optional<std::string> id;
            if (id_it != device.end() && id_it->is_string()) id = normalize_guid(id_it->get_ref<const std::string&>());
            if (!id) {
                ++out.skipped;
                continue;
            }
            // The same decision as for one device read: the item is what GET managedDevices/{id} returns.
            Verdict v = verdict_for_device(device, config);
            if (v.outcome == Outcome::Error) {
                ++out.skipped;  // e.g. no complianceState: left to the request path
                continue;
            }
            v.source = VerdictSource::Sync;
            v.fetched_at_ms = now;
            each(*id, std::move(v));
            ++out.devices;
        }
        if (page_done) page_done(out);
    });
    out.pages = run.pages;
    out.complete = run.complete;
    out.error = std::move(run.error);
    co_return out;
}

}  // namespace ig
