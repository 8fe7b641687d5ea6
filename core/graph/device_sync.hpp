#pragma once
// The bulk compliance sync's reading side: pages through
// GET {graph_url}/v1.0/deviceManagement/managedDevices?$select=...&$top=N (odata_pager.hpp: links
// on Graph's own origin only, none twice, a bounded number of pages) and turns every device into a
// verdict with the same decision as a single lookup. Retries and throttling (Retry-After) are the
// Graph client's.
#include "core/config/config.hpp"
#include "core/graph/graph_client.hpp"
#include "core/graph/odata_pager.hpp"
#include "core/verdict/verdict.hpp"

#include <boost/asio/awaitable.hpp>

#include <functional>
#include <string>

namespace ig {

struct SyncResult {
    bool complete = false;  // every page read
    int pages = 0;
    std::size_t devices = 0;  // verdicts handed to `each`
    std::size_t skipped = 0;  // entries without a valid id
    std::string error;  // why it stopped early (one line, no secret)
    bool refused = false;  // `check` refused a page (then error says why)
};

// The most devices one tenant plausibly holds (Intune's largest tenants hold a few hundred thousand),
// and the most pages a run reads whatever the page size.
inline constexpr std::size_t max_tenant_devices = 2'000'000;
inline constexpr std::size_t max_sync_page_count = 100'000;
// The pages a run may read with `page_size` devices a page: what max_tenant_devices fills, plus one.
int max_sync_pages(std::size_t page_size);

// `each(id, verdict)` for every device (id a lower-case GUID, verdict source Sync; an Error verdict
// for an Entra ID several devices claim: drop what is stored under it);
// `page_done(progress)` after every page (after its devices). What was handed over stays when a later page fails.
boost::asio::awaitable<SyncResult> sync_all_devices(GraphClient& graph, const IntuneConfig& config,
                                                    const std::function<void(const std::string&, Verdict)>& each,
                                                    const std::function<void(const SyncResult&)>& page_done);

// The same over any device collection from `first` (the changes sync's filter, changes_sync.hpp):
// `check(value)` sees each page before its devices; a reason ("" = fine) ends the run there, refused.
boost::asio::awaitable<SyncResult> sync_devices(GraphClient& graph, const IntuneConfig& config, ParsedUrl first,
                                                const std::function<std::string(const nlohmann::json&)>& check,
                                                const std::function<void(const std::string&, Verdict)>& each,
                                                const std::function<void(const SyncResult&)>& page_done);

}  // namespace ig
