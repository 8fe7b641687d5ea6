#include "core/policy/policy_check.hpp"

#include "core/policy/host_match.hpp"
#include "core/policy/path_normalise.hpp"

namespace ig {
namespace {

// The target's path as policies see it, and the target to forward when normalising changed it.
std::string_view read_path(std::string_view target, PolicyRequest& out) {
    if (target == "*") {  // OPTIONS *: no path prefix fits it
        out.path = "*";
        return {};
    }
    const auto parts = split_target(target);
    auto n = normalise_path(parts.path);
    if (!n) return path_not_accepted;
    out.path = std::move(n->match);
    if (n->forward != parts.path) out.forward_target = n->forward + std::string(parts.query);
    return {};
}

}  // namespace

PolicyRequest policy_request(const Config& config, std::string_view host, std::string_view target) {
    PolicyRequest out;
    if (config.policy_hosts) {
        auto h = request_host(host);
        if (!h) {
            out.refused = host_not_accepted;
            return out;
        }
        out.host = std::move(*h);
    }
    if (config.policy_paths) out.refused = read_path(target, out);
    return out;
}

PolicyRequest original_policy_request(const Config& config, std::string_view host, std::string_view uri) {
    if ((config.policy_hosts && host.empty()) || (config.policy_paths && uri.empty())) {
        PolicyRequest out;
        out.refused = original_request_unknown;
        return out;
    }
    auto out = policy_request(config, host, uri);
    out.forward_target.clear();  // the proxy forwards; the decision is made on the normalised path
    return out;
}

PolicyCheck check_policy(const Config& config, const PolicyRequest& request, const Verdict& verdict,
                         Action outcome_action, std::int64_t now_ms) {
    PolicyCheck check;
    if (config.policies.empty() || outcome_action != Action::Forward) return check;
    check.policy = first_policy(config.policies, RequestTarget{request.host, request.path});
    if (!check.policy) return check;
    check.failure = first_failure(check.policy->require, verdict.outcome, verdict.facts, now_ms);
    if (!check.failure)
        check.result = PolicyResult::Allow;
    else
        check.result = check.policy->mode == PolicyMode::Report ? PolicyResult::Report : PolicyResult::Deny;
    return check;
}

}  // namespace ig
