#include "core/graph/device_sync.hpp"

#include "core/graph/entra_lookup.hpp"
#include "core/graph/odata_pager.hpp"
#include "core/identity/device_id.hpp"
#include "core/shared/shared_value.hpp"
#include "core/verdict/decision.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <unordered_map>

namespace ig {
namespace net = boost::asio;

int max_sync_pages(std::size_t page_size) {
    const auto size = std::max<std::size_t>(page_size, 1);
    return static_cast<int>(std::min<std::size_t>(max_tenant_devices / size + 1, max_sync_page_count));
}

namespace {
std::optional<std::string> entra_id_of(const nlohmann::json& device) {
    auto it = device.find("azureADDeviceId");
    if (it == device.end() || !it->is_string()) return std::nullopt;
    return normalize_guid(it->get_ref<const std::string&>());
}
// Certificates that carry the Entra ID device ID find the verdict under that ID too (README:
// `device_id.lookup`), with Intune's id for X-Intune-Managed-Device-Id. An Entra ID two devices
// claim is nobody's: `each` gets an Error for it, which drops what an earlier page stored, and its
// requests go to the filter (ambiguous there too).
void keep_entra_alias(const nlohmann::json& device, const std::string& id, const Verdict& v,
                      std::unordered_map<std::string, std::string>& owner,
                      const std::function<void(const std::string&, Verdict)>& each) {
    auto entra = entra_id_of(device);
    if (!entra || *entra == id) return;
    auto [seen, first] = owner.try_emplace(*entra, id);
    if (first) {
        Verdict alias = v;
        alias.managed_device_id = id;
        each(*entra, std::move(alias));
        return;
    }
    if (seen->second == id || seen->second.empty()) return;
    seen->second.clear();
    Verdict none;
    none.outcome = Outcome::Error;
    none.reason = std::string(ambiguous_entra_id) + ": several devices in the list";
    each(*entra, std::move(none));
}

}  // namespace

net::awaitable<SyncResult> sync_all_devices(GraphClient& graph, const IntuneConfig& config,
                                            const std::function<void(const std::string&, Verdict)>& each,
                                            const std::function<void(const SyncResult&)>& page_done) {
    co_return co_await sync_devices(graph, config, graph.list_page(config.sync.page_size), {}, each, page_done);
}

net::awaitable<SyncResult> sync_devices(GraphClient& graph, const IntuneConfig& config, ParsedUrl first,
                                        const std::function<std::string(const nlohmann::json&)>& check,
                                        const std::function<void(const std::string&, Verdict)>& each,
                                        const std::function<void(const SyncResult&)>& page_done) {
    SyncResult out;
    // A background job can wait out a Retry-After that a login could not.
    const auto page_time = std::max<std::chrono::milliseconds>(config.timeout, std::chrono::seconds(30));
    PageRequest req{"managedDevices list",
                    std::move(first),
                    max_sync_pages(config.sync.page_size),
                    [page_time] { return Clock::now() + page_time; },
                    {}};
    std::unordered_map<std::string, std::string> entra_owner;  // Entra ID -> Intune id; "" when several
    auto run = co_await read_pages(graph, std::move(req), [&](nlohmann::json& value, PageRun& progress) {
        out.pages = progress.pages;
        if (check) {
            if (auto why = check(value); !why.empty()) {
                progress.error = std::move(why);
                out.refused = true;
                return;
            }
        }
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
            // Certificates that carry the Entra ID device ID find the verdict under that ID too
            // (README: `device_id.lookup`), with Intune's id for X-Intune-Managed-Device-Id.
            if (config.lookup != DeviceLookup::Intune) keep_entra_alias(device, *id, v, entra_owner, each);
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
