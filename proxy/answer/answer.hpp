#pragma once
// THE one place that turns a decision into an answer: outcome → configured action → what the
// client (front end) or the asking proxy (authorization endpoint) gets. Pure: no I/O, no clock.
// The front end forwards with plan.facts set on the request; the endpoint answers 200 with them.
#include "core/config/config.hpp"
#include "core/verdict/compliance.hpp"
#include "proxy/answer/headers.hpp"
#include "proxy/http/refusal.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace ig {

// Who is being answered.
enum class Dialect {
    Gateway,  // the mTLS front end: reject/redirect as configured, forward to the upstream
    Authz,  // the authorization endpoint: forward = 200 with the facts as headers
    AuthzNginx,  // nginx auth_request: only 2xx, 401 and 403 pass; redirect = 401 + Location,
                 // every reject = 403 with the configured status in X-Intune-Status
};

struct AnswerPlan {
    Action action = Action::Reject;
    unsigned status = 0;  // status to answer; 0 on the front end's forward (the upstream's)
    std::string body;  // reject: the JSON body; empty otherwise
    std::string location;  // redirect: the sanitised Location
    unsigned configured_status = 0;  // the outcome's own status (reject) or 302 (redirect)
    ForwardFacts facts;  // the device facts (forward: for the upstream or the answer)
};

// `device_id` and `verdict` must outlive the plan (facts points at them).
AnswerPlan plan_answer(const Verdict& verdict, const std::optional<std::string>& device_id, std::string_view request_id,
                       const Config& config, Dialect dialect);

}  // namespace ig
