#pragma once
// Prometheus text exposition (format 0.0.4) of what the core and the proxy count (docs/operations.md).
#include "core/verdict/metrics.hpp"
#include "proxy/admin/proxy_metrics.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace ig {

// Process-level facts that live outside the two counter structs.
struct MetricsExtra {
    std::uint64_t log_lines_dropped = 0;
    std::uint64_t reloads = 0;  // successful SIGHUP reloads
    std::uint64_t reload_failures = 0;  // reloads refused (bad config); the old one kept serving
    std::optional<bool> token_ok;  // ComplianceService::token_ok(); empty = not tried yet
    double start_time_seconds = 0;  // Unix time the process started; 0 = not rendered
};

// The body for GET /metrics, Content-Type "text/plain; version=0.0.4; charset=utf-8".
std::string render_metrics(const CoreMetrics& core, const ProxyMetrics& proxy, const MetricsExtra& extra = {});

inline constexpr const char* metrics_content_type = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace ig
