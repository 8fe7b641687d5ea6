#include "proxy/answer.hpp"

#include "core/text.hpp"

#include <nlohmann/json.hpp>

namespace ig {

std::string refusal_body(std::string_view request_id, std::string_view reason, std::string_view outcome) {
    nlohmann::json body;
    if (!outcome.empty()) body["outcome"] = outcome;
    body["request_id"] = request_id;
    body["reason"] = reason;
    return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

AnswerPlan plan_answer(const Verdict& verdict, const std::optional<std::string>& device_id, std::string_view request_id,
                       const Config& config, Dialect dialect) {
    const OutcomeAction& action = config.action_for(verdict.outcome);
    AnswerPlan plan;
    plan.action = action.action;
    plan.facts.outcome = verdict.outcome;
    plan.facts.device_id = device_id ? &*device_id : nullptr;
    plan.facts.verdict = verdict.outcome == Outcome::NoId ? nullptr : &verdict;
    plan.facts.request_id = request_id;
    switch (action.action) {
    case Action::Forward:
        plan.status = dialect == Dialect::Gateway ? 0 : 200;
        break;
    case Action::Reject: {
        // An Error's reason names backend details (AADSTS codes, the app's client id, Graph
        // request ids): those are for the log and the upstream, not for an unauthenticated client.
        const std::string reason = verdict.outcome == Outcome::Error
                                       ? std::string("no usable answer from the compliance service; see the log for this request_id")
                                       : one_line(verdict.reason, 300);
        plan.configured_status = action.status;
        plan.status = dialect == Dialect::AuthzNginx ? 403 : action.status;
        nlohmann::json body = {{"outcome", to_string(verdict.outcome)}, {"request_id", request_id}, {"reason", reason}};
        plan.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        break;
    }
    case Action::Redirect:
        plan.configured_status = 302;
        plan.status = dialect == Dialect::AuthzNginx ? 401 : 302;
        plan.location = sanitize_header_value(action.location);
        break;
    }
    return plan;
}

}  // namespace ig
