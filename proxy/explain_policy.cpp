#include "proxy/explain_policy.hpp"

#include "core/policy/policy_check.hpp"
#include "core/shared/shared_value.hpp"
#include "core/text/text.hpp"

#include <boost/url/parse.hpp>

namespace ig {

namespace {

// The URL as policies see it; `error` set when it is not an absolute URL or not accepted.
struct UrlTarget {
    PolicyRequest request;
    std::string error;
};

UrlTarget url_target(const Config& config, std::string_view url) {
    UrlTarget out;
    auto u = boost::urls::parse_absolute_uri(url);
    if (!u || !u->has_authority()) {
        out.error = "not an absolute URL: " + printable(url);
        return out;
    }
    std::string target(u->encoded_path());
    if (target.empty()) target = "/";
    if (u->has_query()) target += "?" + std::string(u->encoded_query());
    out.request = policy_request(config, u->encoded_host_and_port(), target);
    if (!out.request.refused.empty()) out.error = "the request is refused: " + std::string(out.request.refused);
    return out;
}

}  // namespace

nlohmann::json policy_for_url(const Config& config, std::string_view url, const Verdict& verdict) {
    const auto t = url_target(config, url);
    if (!t.error.empty()) return {{"error", t.error}};
    const auto check = check_policy(config, t.request, verdict, config.action_for(verdict.outcome).action, unix_ms());
    if (!check.policy) return nullptr;
    return {{"name", check.policy->name},
            {"result", to_string(check.result)},
            {"requirement", check.failure ? std::string(to_string(check.failure->requirement)) : std::string()},
            {"detail", check.failure ? one_line(check.failure->detail, 300) : std::string()}};
}

bool explain_policy(const Config& config, std::string_view url, const Verdict& verdict, std::ostream& out) {
    const auto t = url_target(config, url);
    if (!t.error.empty()) {
        out << "policy:      " << t.error << '\n';
        return false;
    }
    const PolicyRequest& request = t.request;
    const Action action = config.action_for(verdict.outcome).action;
    if (action != Action::Forward) {
        out << "policy:      not checked: the outcome's action is " << to_string(action) << '\n';
        return false;
    }
    const auto* policy = first_policy(config.policies, RequestTarget{request.host, request.path});
    if (!policy) {
        out << "policy:      none applies\n";
        return true;
    }
    out << "policy:      " << policy->name << (policy->mode == PolicyMode::Report ? " (report mode)" : " (enforce)")
        << '\n';
    const auto now = unix_ms();
    for (const auto& r : check_requirements(policy->require, verdict.outcome, verdict.facts, now)) {
        std::string label(to_string(r.requirement));
        label += ':';
        label.resize(16, ' ');
        out << "  " << label << (r.passed ? "pass" : "FAIL") << " (" << one_line(r.detail, 300) << ")\n";
    }
    const PolicyCheck check = check_policy(config, request, verdict, action, now);
    out << "policy result: " << to_string(check.result);
    if (check.failure) out << " (" << to_string(check.failure->requirement) << ")";
    out << '\n';
    return check.result != PolicyResult::Deny;
}

}  // namespace ig
