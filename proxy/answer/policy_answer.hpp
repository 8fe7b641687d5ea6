#pragma once
// The words and records of an access policy's check (docs/policies.md). The answer itself
// (deny action, X-Intune-Policy) is plan_answer()'s, given the check. Pure: no I/O.
#include "core/policy/policy_check.hpp"
#include "proxy/admin/proxy_metrics.hpp"
#include "proxy/answer/access_log.hpp"

#include <string>
#include <string_view>

namespace ig {

// The check of the policy that applies to `request` for this verdict, now (nothing to check
// without policies). Both faces call it between lookup_verdict() and plan_answer().
PolicyCheck policy_for(const Config& config, const PolicyRequest& request, const Verdict& verdict);

// The JSON body of a policy's reject: the reject body plus "policy", "requirement" and "detail".
std::string policy_reject_body(const PolicyCheck& check, const Verdict& verdict, std::string_view request_id);

// The access record's policy fields, and the policy counters (nothing when no policy applied).
void note_policy(AccessRecord& rec, ProxyMetrics& metrics, const PolicyCheck& check);

// The reason a denied client reads: "access policy <name>: <requirement> not met".
std::string policy_reason(const PolicyCheck& check);

}  // namespace ig
