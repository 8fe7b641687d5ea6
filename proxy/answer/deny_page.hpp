#pragma once
// What a person sees when the gateway says no: the answer to a `reject` (an HTML deny page for a
// browser, the JSON body for everyone else) and the filled-in `location` of a `redirect`.
// Pure functions: no I/O, no clock unless asked for; the operator's pages come from the config.
#include "core/config/config.hpp"
#include "core/text/text.hpp"
#include "core/verdict/compliance.hpp"
#include "proxy/answer/policy_page.hpp"

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ig {

struct RejectReply {
    unsigned status = 403;
    std::string content_type;  // "application/json" or "text/html; charset=utf-8"
    std::string body;
    std::vector<std::pair<std::string_view, std::string_view>> headers;  // besides Content-Type
};

// What the page shows. Every value is escaped when inserted.
struct DenyInfo {
    Outcome outcome = Outcome::Error;
    unsigned status = 403;
    std::string_view request_id;
    std::string_view reason;
    std::string_view help;
    std::string_view help_url;
    std::string_view time;  // as shown, e.g. "2026-11-26 10:12:15 UTC"
    // The original path and query for the "Check again" form's `return` field; empty: no button
    // (a device without an ID has nothing to check again).
    std::string_view recheck_return;
    const PolicyWords* policy = nullptr;  // an access policy's denial: its words replace the outcome's
    std::string_view result;  // the Result line instead of the outcome's name, e.g. "access policy admin: os"
};

// True when the Accept header ranks text/html above application/json (q-values, the most specific
// media range deciding for each); a tie, no header or a malformed one keep JSON.
bool prefers_html(std::string_view accept);

// The built-in page for the outcome, or the operator's template when given.
std::string render_deny_page(const DenyInfo& info, const PageTemplate* custom = nullptr);

// The answer to a request whose outcome's action is `reject`, or (policy set, a Deny) whose access
// policy's deny action is (then `action` is the policy's). recheck_return: as DenyInfo's.
RejectReply render_reject(const OutcomeAction& action, const Verdict& verdict, std::string_view request_id,
                          std::string_view accept,
                          std::chrono::system_clock::time_point now = std::chrono::system_clock::now(),
                          std::string_view recheck_return = {}, const PolicyCheck* policy = nullptr);

// "https://" + Host + target when that forms a valid URL; empty otherwise.
std::string original_url(std::string_view host, std::string_view target);

// The redirect location with {request_id} and {return_url} replaced, each percent-encoded
// (unreserved characters kept), so they fit in a query parameter or a path segment.
std::string redirect_location(std::string_view location, std::string_view request_id, std::string_view return_url);

// "2026-11-26 10:12:15 UTC"
std::string page_time(std::chrono::system_clock::time_point t);

}  // namespace ig
