#pragma once
// THE one place that turns a decision into an answer: outcome → configured action → the finished
// answer (status, headers, body) the client (front end) or the asking proxy (authorization
// endpoint) gets. The front end and the endpoint only write it out (docs/architecture.md).
// Pure: no I/O; the clock only for a deny page's time when the request view has none.
#include "core/config/config.hpp"
#include "core/policy/policy_check.hpp"
#include "core/verdict/compliance.hpp"
#include "proxy/answer/headers.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ig {

// Who is being answered.
enum class Dialect {
    Gateway,  // the mTLS front end: reject/redirect as configured, forward to the upstream
    Authz,  // the authorization endpoint: forward = 200 with the facts as headers
    AuthzNginx,  // nginx auth_request: only 2xx, 401 and 403 pass; redirect = 401 + Location,
                 // every reject = 403; the configured status travels in X-Intune-Status
};

// What the answer needs to know of the request. The views must outlive plan_answer() only.
struct AnswerRequest {
    Dialect dialect = Dialect::Gateway;
    std::string_view request_id;
    std::string_view accept;  // the client's Accept: a browser gets the HTML deny page
    // The request as the client sent it, for a redirect's {return_url}: its Host and origin-form
    // target (on the front end the request's own; on the endpoint what the proxy reported, see
    // docs/plugin-mode.md). When either is unknown or they do not form a URL, {return_url} is empty.
    std::string_view host;
    std::string_view target;
    std::chrono::system_clock::time_point now{};  // the deny page's time; unset: the clock's now
    // The access policy's check (check_policy(), docs/policies.md), when policies are configured:
    // a Deny answers with the policy's deny action (its JSON names policy, requirement and detail,
    // its page the requirement); Allow and Report forward with X-Intune-Policy(-Failed).
    const PolicyCheck* policy = nullptr;
};

// The finished answer. A forward on the front end has no status, headers or body (the upstream
// answers; building nothing keeps the hot path free of allocations); its facts go on the request.
struct Answer {
    Action action = Action::Reject;
    unsigned status = 0;  // status to answer; 0 on the front end's forward (the upstream's)
    unsigned configured_status = 0;  // the outcome's own status (reject or redirect)
    // Reject/redirect: Content-Type, Location, caching and page-security headers, and on the
    // endpoint X-Intune-Outcome (and X-Intune-Status for nginx). Names are literals. X-Request-Id
    // is the writer's: every answer of the gateway carries it, refusals too.
    std::vector<std::pair<std::string_view, std::string>> headers;
    std::string body;  // reject: JSON or the HTML deny page; empty otherwise
    ForwardFacts facts;  // the device facts (forward: for the upstream or the endpoint's answer)
};

// `device_id`, `verdict` and the policy check must outlive the answer (facts points at them).
Answer plan_answer(const Verdict& verdict, const std::optional<std::string>& device_id, const AnswerRequest& request,
                   const Config& config);

// The header value of the answer's `name`, or nothing (tests and writers that need one).
const std::string* answer_header(const Answer& answer, std::string_view name);

}  // namespace ig
