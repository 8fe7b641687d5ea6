#include "proxy/answer/answer.hpp"

#include "core/text/text.hpp"

namespace ig {

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
        case Action::Forward: plan.status = dialect == Dialect::Gateway ? 0 : 200; break;
        case Action::Reject:
            plan.configured_status = action.status;
            plan.status = dialect == Dialect::AuthzNginx ? 403 : action.status;
            plan.body = reject_body(verdict, request_id);
            break;
        case Action::Redirect:
            plan.configured_status = 302;
            plan.status = dialect == Dialect::AuthzNginx ? 401 : 302;
            plan.location = sanitize_header_value(action.location);
            break;
    }
    return plan;
}

}  // namespace ig
