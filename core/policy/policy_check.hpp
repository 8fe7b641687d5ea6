#pragma once
// Access policies applied to one request (README: Access policies): the request as policies see it
// (read before the device is looked up, so a path that is not accepted costs no Graph call) and
// the check of the policy that applies. Pure: no I/O, the clock is a parameter.
#include "core/config/config.hpp"
#include "core/policy/policy.hpp"
#include "core/verdict/verdict.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ig {

// The request as policies see it. Empty (nothing to do) when no policy is configured.
struct PolicyRequest {
    std::string_view refused;  // non-empty: not accepted, the reason ("path not accepted", ...)
    std::string host;  // request_host(), when a policy names hosts
    std::string path;  // the match form of the normalised path, when a policy names paths
    std::string forward_target;  // non-empty: forward this target (normalised path + query) instead
};

inline constexpr std::string_view path_not_accepted = "path not accepted";
inline constexpr std::string_view host_not_accepted = "host not accepted";
inline constexpr std::string_view original_request_unknown = "original request unknown";

// host: a Host header value; target: origin-form (or `*`).
PolicyRequest policy_request(const Config& config, std::string_view host, std::string_view target);

// Plugin mode: the original request as the proxy passed it (original_request() of
// proxy/plugin/authz_request.hpp); empty when not known — then `refused` is
// original_request_unknown when a policy needs what is missing.
PolicyRequest original_policy_request(const Config& config, std::string_view host, std::string_view uri);

enum class PolicyResult { None, Allow, Deny, Report };
constexpr std::string_view to_string(PolicyResult r) {
    constexpr std::string_view names[] = {"", "allow", "deny", "report"};
    return names[static_cast<int>(r)];
}

struct PolicyCheck {
    const PolicyConfig* policy = nullptr;  // the policy that applies (points into the config)
    PolicyResult result = PolicyResult::None;
    std::optional<RequirementResult> failure;  // Deny, Report: the first requirement that failed
};

// Requirements apply only when the outcome's own action forwards (README: Access policies).
PolicyCheck check_policy(const Config& config, const PolicyRequest& request, const Verdict& verdict,
                         Action outcome_action, std::int64_t now_ms);

}  // namespace ig
