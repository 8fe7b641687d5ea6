#pragma once
// A verdict: what the compliance core answers for one device (README: How a request flows). Plain
// data, so that the units that make, store and encode verdicts need no Asio.
#include "core/policy/facts.hpp"
#include "core/verdict/outcome.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ig {

// Where a cached verdict came from (the help desk shows it).
enum class VerdictSource { Graph, Sync, Shared, Stale };
constexpr std::string_view to_string(VerdictSource s) {
    constexpr std::string_view names[] = {"graph", "sync", "shared", "stale"};
    return names[static_cast<int>(s)];
}

struct Verdict {
    Outcome outcome = Outcome::Error;
    std::string compliance_state;  // as Graph wrote it; empty when Graph gave no state
    std::string reason;  // one line, no secrets: for logs and X-Intune-Error
    DeviceFacts facts;  // what access policies read (intune.facts); facts.read says which were asked for
    std::string device_json;  // saved device properties as a JSON object, when configured
    std::optional<std::string> apps_json;  // JSON array of {displayName, version, publisher}, when configured and read
    // Set when the header cap (intune.max_*_header_bytes) left entries out: how many there were in all.
    std::optional<std::size_t> device_truncated, apps_truncated;
    // Installed apps are configured but not read yet: the verdict came from the bulk sync (whose
    // list has no apps) or from another instance without them. The device's next request reads them.
    bool apps_pending = false;
    bool cache_hit = false;
    double graph_ms = 0;  // time spent waiting on Graph for this lookup (0 on a hit)
    VerdictSource source = VerdictSource::Graph;
    std::int64_t fetched_at_ms = 0;  // Unix time (ms) Graph gave this answer; 0 for Error
    std::optional<std::int64_t> stale_age_s;  // set when Graph failed and this older answer stands in
    // The device's Intune id when it was found by its Entra ID device ID (X-Intune-Managed-Device-Id).
    std::string managed_device_id;
};

// What the cache holds for one device (the help desk's view).
struct CacheEntryInfo {
    Verdict verdict;
    std::int64_t age_s = 0;  // since Graph gave the answer
    std::int64_t ttl_s = 0;  // until it expires here; <= 0 when only kept for stale-if-error
};

}  // namespace ig
