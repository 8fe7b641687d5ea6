#include "proxy/answer/answer.hpp"

#include "core/text/text.hpp"
#include "proxy/answer/deny_page.hpp"

namespace ig {

namespace {

bool endpoint(Dialect d) { return d != Dialect::Gateway; }

// The endpoint's answer names the outcome; nginx, which passes only 401 and 403 on, also learns
// the configured status.
void add_endpoint_headers(Answer& a, const Verdict& verdict, Dialect dialect) {
    if (!endpoint(dialect)) return;
    a.headers.emplace_back("X-Intune-Outcome", std::string(to_string(verdict.outcome)));
    if (dialect == Dialect::AuthzNginx) a.headers.emplace_back("X-Intune-Status", std::to_string(a.configured_status));
}

void plan_reject(Answer& a, const OutcomeAction& action, const Verdict& verdict, bool has_id, const AnswerRequest& req,
                 const PolicyCheck* denial) {
    a.configured_status = action.status;
    a.status = req.dialect == Dialect::AuthzNginx ? 403 : action.status;
    const auto now = req.now == std::chrono::system_clock::time_point{} ? std::chrono::system_clock::now() : req.now;
    // "Check again" comes back to the page's own path (an unknown one: the site's root).
    const std::string_view back = !has_id ? std::string_view() : req.target.empty() ? "/" : req.target;
    RejectReply reply = render_reject(action, verdict, req.request_id, req.accept, now, back, denial);
    a.headers.reserve(reply.headers.size() + 3);
    a.headers.emplace_back("Content-Type", std::move(reply.content_type));
    for (const auto& [name, value] : reply.headers) a.headers.emplace_back(name, std::string(value));
    a.body = std::move(reply.body);
}

void plan_redirect(Answer& a, const OutcomeAction& action, const AnswerRequest& req) {
    a.configured_status = action.status;
    a.status = req.dialect == Dialect::AuthzNginx ? 401 : action.status;
    const auto location = redirect_location(action.location, req.request_id, original_url(req.host, req.target));
    a.headers.reserve(3);
    a.headers.emplace_back("Location", sanitize_header_value(location));
}

// The check when its policy denies (only a forwarding outcome is checked at all).
const PolicyCheck* denial_of(const PolicyCheck* check, Action outcome_action) {
    if (!check || outcome_action != Action::Forward || check->result != PolicyResult::Deny) return nullptr;
    return check->policy && check->failure ? check : nullptr;
}

// A forward through a policy names it (X-Intune-Policy), and in report mode what failed.
void note_policy_facts(ForwardFacts& facts, const PolicyCheck* check) {
    if (!check || !check->policy || check->result == PolicyResult::None) return;
    facts.policy = check->policy->name;
    if (check->result == PolicyResult::Report && check->failure)
        facts.policy_failed = to_string(check->failure->requirement);
}

}  // namespace

Answer plan_answer(const Verdict& verdict, const std::optional<std::string>& device_id, const AnswerRequest& request,
                   const Config& config) {
    const OutcomeAction& outcome_action = config.action_for(verdict.outcome);
    const PolicyCheck* denial = denial_of(request.policy, outcome_action.action);
    const OutcomeAction& action = denial ? denial->policy->deny : outcome_action;
    Answer a;
    a.action = action.action;
    a.facts.outcome = verdict.outcome;
    a.facts.device_id = device_id ? &*device_id : nullptr;
    a.facts.verdict = verdict.outcome == Outcome::NoId ? nullptr : &verdict;
    a.facts.request_id = request.request_id;
    switch (action.action) {
        case Action::Forward:
            a.status = endpoint(request.dialect) ? 200 : 0;
            note_policy_facts(a.facts, request.policy);
            return a;
        case Action::Reject: plan_reject(a, action, verdict, device_id.has_value(), request, denial); break;
        case Action::Redirect: plan_redirect(a, action, request); break;
    }
    add_endpoint_headers(a, verdict, request.dialect);
    return a;
}

const std::string* answer_header(const Answer& answer, std::string_view name) {
    for (const auto& [n, v] : answer.headers)
        if (n == name) return &v;
    return nullptr;
}

}  // namespace ig
