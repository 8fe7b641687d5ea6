#include "proxy/answer/policy_answer.hpp"

#include "core/shared/shared_value.hpp"
#include "core/text/text.hpp"

#include <nlohmann/json.hpp>

namespace ig {

PolicyCheck policy_for(const Config& config, const PolicyRequest& request, const Verdict& verdict) {
    if (config.policies.empty()) return {};
    return check_policy(config, request, verdict, config.action_for(verdict.outcome).action, unix_ms());
}

std::string policy_reason(const PolicyCheck& check) {
    if (!check.policy || !check.failure) return {};
    return "access policy " + check.policy->name + ": " + std::string(to_string(check.failure->requirement)) +
           " not met";
}

void note_policy(AccessRecord& rec, ProxyMetrics& metrics, const PolicyCheck& check) {
    if (check.result == PolicyResult::None) return;
    rec.policy = check.policy->name;
    rec.policy_result = to_string(check.result);
    if (check.failure) rec.requirement = to_string(check.failure->requirement);
    metrics.policies.count(rec.policy, rec.policy_result, rec.requirement);
}

std::string policy_reject_body(const PolicyCheck& check, const Verdict& verdict, std::string_view request_id) {
    nlohmann::json body{{"outcome", to_string(verdict.outcome)},
                        {"request_id", request_id},
                        {"reason", policy_reason(check)},
                        {"policy", check.policy->name},
                        {"requirement", to_string(check.failure->requirement)},
                        {"detail", one_line(check.failure->detail, 300)}};
    return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace ig
