#pragma once
// Wire-format helpers shared by the emulator's endpoints: ids, base64url, and the exact error
// bodies Entra ID (AADSTS) and Microsoft Graph (OData) write.
#include "core/text/base64url.hpp"
#include "tests/support/base64url_decode.hpp"
#include "core/identity/device_id.hpp"

#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace ig::test::emu {

namespace beast = boost::beast;
namespace http = beast::http;

using request = http::request<http::string_body>;
using response = http::response<http::string_body>;

// What an endpoint wants the connection to do.
struct reply {
  response res;
  std::chrono::milliseconds delay{0};  // wait this long before answering
  bool drop = false;                   // close the socket without answering
};

std::string new_uuid();                      // random v4, lower case
std::string random_opaque(std::size_t bytes);  // base64url of random bytes
using ig::base64url_encode;  // the core's; one base64url in the tree
using ig::test::base64url_decode;
std::optional<std::string> base64_decode(std::string_view text);  // standard alphabet, padding optional
std::string to_lower(std::string_view s);
inline bool is_guid(std::string_view s) { return ig::normalize_guid(s).has_value(); }
std::string utc_timestamp();  // "2026-11-26 10:15:04Z", as AAD writes it
std::string graph_now();      // "2026-11-26T10:15:04Z", as Graph writes lastSyncDateTime (whole seconds)
std::string rfc1123_now();    // HTTP Date

// The client's client-request-id when it is a harmless token, else a fresh one.
std::string client_request_id(const request& req);

response json_response(const request& req, http::status status, const nlohmann::json& body,
                       std::string_view content_type = "application/json; charset=utf-8");

// {"error":"<error>","error_description":"AADSTS<code>: <text> Trace ID: ...", "error_codes":[code], ...}
// crlf: the older form, "AADSTS<code>: <text>\r\nTrace ID: ...\r\nCorrelation ID: ...\r\nTimestamp: ...".
response aad_error(const request& req, http::status status, std::string_view error, int code,
                   std::string_view text, bool crlf = false);

// {"error":{"code":..,"message":..,"innerError":{"date","request-id","client-request-id"}}}
response odata_error(const request& req, http::status status, std::string_view code,
                     std::string_view message);

// Intune's form of an OData error: "message" is itself a JSON document
// {"_version":3,"Message":"An error has occurred - Operation ID (for customer support): ... -
// Activity ID: ... - Url: ...","CustomApiErrorPhrase":"","RetryAfter":null,...}, and for a missing
// permission that document is wrapped once more in {"ErrorCode":"Forbidden","Message":"...",...}.
// intune_path: the Intune service path named in the message.
response intune_error(const request& req, http::status status, std::string_view code, std::string_view intune_path,
                      bool forbidden_wrapper = false);

inline constexpr std::string_view odata_json =
    "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";

}  // namespace ig::test::emu
