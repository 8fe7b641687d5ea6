#pragma once
// The access log record (docs/operations.md): one JSON line per request, through core/log.
#include <string>
#include <string_view>

namespace ig {

struct AccessRecord {
    std::string request_id;
    std::string client_address;
    std::string method;
    std::string path;  // the target without its query (a query may carry secrets), capped
    std::string device_id;  // empty when none
    std::string outcome;  // empty when refused before a decision (400/413/431)
    std::string compliance_state;
    std::string action;
    unsigned status = 0;  // what the client got
    unsigned upstream_status = 0;  // 0 when the upstream was not contacted
    double latency_ms = 0;
    double graph_ms = 0;
    bool cache_hit = false;
    std::string error;  // one-line reason, when any
    // Access policies: the policy that applied, its result (allow, deny, report) and the
    // requirement that failed; empty when no policy applied.
    std::string_view policy;
    std::string_view policy_result;
    std::string_view requirement;
};

void log_access(const AccessRecord& record);

}  // namespace ig
