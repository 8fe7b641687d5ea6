#pragma once
// The changes sync (README: sync.changes_interval_s): between full syncs, the devices that checked
// in since T, through GET managedDevices?$filter=lastSyncDateTime gt T. Graph answers a filter it
// does not support with every device instead of an error, so an answer counts only when every
// device in it really checked in after T (changes_guard); anything else discards the whole round.
#include "core/graph/device_sync.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace ig {

// How far before the previous round's start the next one asks from: Intune records a check-in's
// lastSyncDateTime when the device starts it, and the compliance state it reports may land in
// Graph minutes later; the gateway's and Graph's clocks also differ (docs/shared-state.md).
inline constexpr std::chrono::minutes changes_margin{5};

// T in Unix ms, whole seconds: the previous round's start (`base_ms`) minus changes_margin; with
// no previous round, one changes interval before `now_ms` minus the margin.
std::int64_t changes_since_ms(std::optional<std::int64_t> base_ms, std::int64_t now_ms,
                              std::chrono::seconds changes_interval);

// A Unix ms time as Graph's filter takes it: 2026-12-03T17:55:00Z (UTC, whole seconds).
std::string graph_time(std::int64_t unix_ms);

// "" when every device of a page's `value` has a lastSyncDateTime after `since_ms`; else why not
// (one line, for the log): the page is not what the filter asked for.
std::string changes_guard(const nlohmann::json& value, std::int64_t since_ms);

// Reads the devices that checked in after since_ms, every page through changes_guard. `each` as for
// sync_all_devices(); the caller keeps what it got until the run is complete (a refused or failed
// round is dropped as a whole).
boost::asio::awaitable<SyncResult> sync_changed_devices(GraphClient& graph, const IntuneConfig& config,
                                                        std::int64_t since_ms,
                                                        const std::function<void(const std::string&, Verdict)>& each);

}  // namespace ig
