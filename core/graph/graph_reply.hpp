#pragma once
// What Microsoft Graph answered to one read, and the parts of its error bodies that decide what the
// answer means. Plain data and pure functions: decision.cpp reads them without the client.
#include <optional>
#include <string>

namespace ig {

// What came back for one Graph read, before any interpretation (that is decision.hpp's job).
struct GraphReply {
    enum class Kind { Answered, TokenFailed, Unreachable };
    Kind kind = Kind::Unreachable;
    unsigned status = 0;  // Answered: the final HTTP status
    std::string body;  // Answered
    std::string error;  // TokenFailed / Unreachable: one line, no secret
    std::string request_id, client_request_id;  // Answered: Graph's response headers (sanitised)
};

// An OData error body: {"error":{"code","message","innerError":{"request-id","client-request-id"}}}.
// Intune puts a JSON document inside "message" ({"ErrorCode":"Forbidden","Message":"{\"_version\":3,
// \"Message\":\"An error has occurred - ...\"}"}): then message is the innermost Message text and
// intune_code the ErrorCode.
struct ODataError {
    std::string code, message, request_id, client_request_id, intune_code;  // sanitised
};
std::optional<ODataError> parse_odata_error(const std::string& body);

// The one text of an error answer: "HTTP 401 UnknownError/Forbidden: message; request-id R;
// client-request-id C" (the ids are what Microsoft support asks for: the body's innerError wins,
// the response headers fill in). `e`: the body parsed by the caller; the other form parses it.
std::string odata_error_text(const GraphReply& reply, const std::optional<ODataError>& e);
std::string odata_error_text(const GraphReply& reply);

// Intune's answer to a missing permission or role: 401 (sic) UnknownError with ErrorCode Forbidden,
// or a 403. Not a token problem: a new token gets the same answer.
bool is_access_denied(unsigned status, const ODataError& e);
// A token Graph does not accept (expired, revoked, malformed): the one 401 a new token can fix.
bool is_invalid_token(unsigned status, const ODataError& e);

}  // namespace ig
