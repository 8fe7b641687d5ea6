#include "proxy/access_log.hpp"

#include "core/log.hpp"

#include <cmath>

namespace ig {
namespace {

constexpr std::size_t max_field = 1024;  // a hostile path or reason must not blow up a log line

nlohmann::json text_or_null(const std::string& s) {
    if (s.empty()) return nullptr;
    if (s.size() > max_field) return s.substr(0, max_field) + "...";
    return s;
}

double millis(double ms) { return std::isfinite(ms) && ms > 0 ? std::round(ms * 1000.0) / 1000.0 : 0.0; }

}  // namespace

void log_access(const AccessRecord& r) {
    nlohmann::json line = nlohmann::json::object();
    line["time"] = log::now_iso8601();
    line["type"] = "access";
    line["request_id"] = r.request_id;
    line["client"] = r.client_address;
    if (!r.method.empty()) line["method"] = text_or_null(r.method);
    if (!r.path.empty()) line["path"] = text_or_null(r.path);
    line["device_id"] = text_or_null(r.device_id);
    line["outcome"] = text_or_null(r.outcome);
    line["compliance_state"] = text_or_null(r.compliance_state);
    line["action"] = text_or_null(r.action);
    line["status"] = r.status;
    line["upstream_status"] = r.upstream_status ? nlohmann::json(r.upstream_status) : nlohmann::json(nullptr);
    line["latency_ms"] = millis(r.latency_ms);
    line["graph_ms"] = millis(r.graph_ms);
    line["cache"] = r.cache_hit ? "hit" : "miss";
    if (!r.error.empty()) line["error"] = text_or_null(r.error);
    log::write(std::move(line));
}

}  // namespace ig
