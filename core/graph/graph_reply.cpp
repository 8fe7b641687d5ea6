#include "core/graph/graph_reply.hpp"

#include "core/text/outside_json.hpp"
#include "core/text/text.hpp"

#include <boost/algorithm/string/predicate.hpp>
#include <nlohmann/json.hpp>

namespace ig {
namespace {

std::string json_string(const nlohmann::json& obj, const char* key) {
    auto it = obj.find(key);
    return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

std::optional<ODataError> parse_odata_error(const std::string& body) {
    auto parsed = parse_outside_json(body);
    if (!parsed.doc || !parsed.doc->is_object()) return std::nullopt;
    const auto& doc = *parsed.doc;
    auto err = doc.find("error");
    if (err == doc.end() || !err->is_object()) return std::nullopt;
    ODataError e;
    e.code = printable_ascii(json_string(*err, "code"), 80);
    std::string message = json_string(*err, "message");
    // Intune: the message is itself JSON, {"ErrorCode","Message"} and/or {"_version","Message"},
    // nested up to twice. Take the innermost Message text.
    for (int depth = 0; depth < 2 && !message.empty() && message.front() == '{'; ++depth) {
        auto parsed_inner = parse_outside_json(message);
        if (!parsed_inner.doc || !parsed_inner.doc->is_object()) break;
        const auto& inner = *parsed_inner.doc;
        if (e.intune_code.empty()) e.intune_code = printable_ascii(json_string(inner, "ErrorCode"), 80);
        auto text = json_string(inner, "Message");
        if (text.empty()) break;
        message = std::move(text);
    }
    e.message = one_line(message, 200);
    for (const char* inner : {"innerError", "innererror"}) {
        if (auto in = err->find(inner); in != err->end() && in->is_object()) {
            e.request_id = printable_ascii(json_string(*in, "request-id"), 80);
            e.client_request_id = printable_ascii(json_string(*in, "client-request-id"), 80);
        }
    }
    return e;
}

std::string odata_error_text(const GraphReply& reply, const std::optional<ODataError>& e) {
    std::string r = "HTTP " + std::to_string(reply.status);
    std::string request_id = reply.request_id, client_request_id = reply.client_request_id;
    if (e) {
        if (!e->code.empty()) r += " " + e->code;
        if (!e->intune_code.empty()) r += "/" + e->intune_code;
        if (!e->message.empty()) r += ": " + e->message;
        if (!e->request_id.empty()) request_id = e->request_id;
        if (!e->client_request_id.empty()) client_request_id = e->client_request_id;
    }
    if (!request_id.empty()) r += "; request-id " + request_id;
    if (!client_request_id.empty()) r += "; client-request-id " + client_request_id;
    return r;
}

std::string odata_error_text(const GraphReply& reply) { return odata_error_text(reply, parse_odata_error(reply.body)); }

bool is_access_denied(unsigned status, const ODataError& e) {
    if (status == 403) return true;
    return status == 401 &&
           (boost::algorithm::iequals(e.intune_code, "Forbidden") || boost::algorithm::iequals(e.code, "Forbidden") ||
            boost::algorithm::iequals(e.code, "Authorization_RequestDenied"));
}

bool is_invalid_token(unsigned status, const ODataError& e) {
    return status == 401 && boost::algorithm::iequals(e.code, "InvalidAuthenticationToken");
}

}  // namespace ig
