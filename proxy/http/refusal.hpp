#pragma once
// What the gateway answers when it says no by itself: the status and reason for a request it could
// not parse, and the JSON body of every refusal and reject ({"outcome", "request_id", "reason"}).
// Used by the front end and the authorization endpoint alike. Pure: no I/O.
#include "core/verdict/compliance.hpp"

#include <boost/system/error_code.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace ig {

struct Refusal {
    unsigned status = 400;
    std::string_view reason;  // a fixed text, safe to show the client
};

// The answer to a client whose request could not be read (a Beast HTTP parse error): 431 for a
// header over the limit, 413 for a body over it, 400 for any other malformed request. Nothing
// (just close) when the client closed, went silent or stopped mid-message, or the error is not
// the parser's.
std::optional<Refusal> refusal_for(const boost::system::error_code& ec);

// The JSON body of an answer the gateway gives before or instead of a decision:
// {"request_id", "reason"} plus "outcome" when there is one.
std::string refusal_body(std::string_view request_id, std::string_view reason, std::string_view outcome = {});

// The reason a rejected client may read. An Error's own reason names backend details (AADSTS
// codes, the app's client id, Graph request ids): those are for the log and the upstream only.
std::string client_reason(const Verdict& verdict);

// The JSON body of a `reject`: refusal_body() with the verdict's outcome and client_reason().
std::string reject_body(const Verdict& verdict, std::string_view request_id);

}  // namespace ig
