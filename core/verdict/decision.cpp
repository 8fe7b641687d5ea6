#include "core/verdict/decision.hpp"

#include "core/text/header_cap.hpp"
#include "core/text/outside_json.hpp"
#include "core/text/text.hpp"

#include <boost/algorithm/string/predicate.hpp>
#include <nlohmann/json.hpp>

#include <array>
#include <utility>

namespace ig {

namespace {
constexpr std::size_t max_state_len = 64;

constexpr std::array<std::pair<std::string_view, Outcome>, 6> known_states{{
    {"compliant", Outcome::Compliant},
    {"noncompliant", Outcome::NotCompliant},
    {"inGracePeriod", Outcome::InGracePeriod},
    {"configManager", Outcome::ConfigManager},
    {"conflict", Outcome::Conflict},
    {"error", Outcome::Error},
}};

Verdict error(std::string reason) { return error_verdict(std::move(reason)); }

// "<what> (HTTP 401 UnknownError/Forbidden: text; request-id R; client-request-id C)".
std::string http_reason(std::string_view what, const GraphReply& reply, const std::optional<ODataError>& e) {
    return std::string(what) + " (" + odata_error_text(reply, e) + ")";
}

// What the admin has to fix when Intune refuses the app (401 UnknownError/Forbidden, or 403).
constexpr std::string_view access_denied_fix =
    "give the app registration the Microsoft Graph permission "
    "DeviceManagementManagedDevices.Read.All with admin consent (application permission; for the "
    "password grant the delegated one and an Intune role for the user) and check the tenant's Intune license";

// The device's properties (all, or the configured ones), without OData's own annotations
// ("@odata.context", "@odata.type", ...: they describe the response, not the device).
nlohmann::json saved_properties(const nlohmann::json& device, const IntuneConfig& config) {
    auto out = nlohmann::json::object();
    if (config.device_properties.empty()) {
        for (auto it = device.begin(); it != device.end(); ++it)
            if (!it.key().starts_with("@odata.")) out[it.key()] = *it;
        return out;
    }
    for (auto& name : config.device_properties)
        if (auto it = device.find(name); it != device.end()) out[name] = *it;
    return out;
}
}  // namespace

Verdict error_verdict(std::string reason) {
    Verdict v;
    v.outcome = Outcome::Error;
    v.reason = one_line(reason, 700);
    return v;
}

std::optional<Outcome> outcome_for_state(std::string_view state) {
    for (auto& [name, outcome] : known_states)
        if (boost::algorithm::iequals(name, state)) return outcome;
    if (boost::algorithm::iequals(state, "unknown")) return Outcome::StatusUnknown;
    return std::nullopt;
}

Verdict verdict_for_reply(const GraphReply& reply, const IntuneConfig& config, std::string_view asked_id) {
    switch (reply.kind) {
        case GraphReply::Kind::TokenFailed:
        case GraphReply::Kind::Unreachable: return error(reply.error);
        case GraphReply::Kind::Answered: break;
    }
    if (reply.status == 404) {
        Verdict v;
        v.outcome = config.device_not_found;
        v.reason = "device not found in Intune";
        v.facts.read = config.facts;  // asked, and none given: the requirements fail closed
        return v;
    }
    const auto e = reply.status == 200 ? std::nullopt : parse_odata_error(reply.body);
    const ODataError none;
    if (is_access_denied(reply.status, e.value_or(none)))
        return error(http_reason("Intune denied access", reply, e) + ": " + std::string(access_denied_fix));
    if (reply.status == 401) return error(http_reason("graph refused the token", reply, e));
    if (reply.status == 429 || reply.status >= 500)
        return error(http_reason("graph unavailable after retries", reply, e));
    if (reply.status == 400) return error(http_reason("graph refused the request", reply, e));
    if (reply.status != 200) return error(http_reason("graph answered", reply, e));

    auto parsed = parse_outside_json(reply.body);
    if (!parsed.doc) return error("graph answered with a body that is not usable: " + parsed.error);
    return verdict_for_device(*parsed.doc, config, asked_id);
}

Verdict verdict_for_device(const nlohmann::json& doc, const IntuneConfig& config, std::string_view asked_id) {
    if (!doc.is_object()) return error("graph answered with a body that is not a JSON object");
    if (!asked_id.empty()) {
        // The answer must be about the device asked for (issue 26: an answer about another one,
        // from a proxy or cache on the way, must not decide this one).
        auto id = doc.find("id");
        if (id == doc.end() || !id->is_string() ||
            !boost::algorithm::iequals(id->get_ref<const std::string&>(), asked_id))
            return error("graph answered for another device (id " +
                         (id != doc.end() && id->is_string() ? printable_ascii(id->get_ref<const std::string&>(), 64)
                                                             : std::string("missing")) +
                         ")");
    }
    auto state = doc.find("complianceState");
    if (state == doc.end()) return error("graph answer has no complianceState");
    if (!state->is_string()) return error("graph answer has a complianceState that is not a string");

    const auto& raw = state->get_ref<const std::string&>();
    Verdict v;
    v.compliance_state = printable_ascii(raw, max_state_len);
    if (auto o = outcome_for_state(raw); o && raw.size() <= max_state_len) {
        v.outcome = *o;
        v.reason = "complianceState " + v.compliance_state;
    } else {
        v.outcome = Outcome::StatusUnknown;
        v.reason = "complianceState not known to this build: " + v.compliance_state;
    }
    if (config.facts) v.facts = read_device_facts(doc, config.facts);
    if (config.save_device_properties) {
        auto capped = cap_json_header(saved_properties(doc, config), device_header, config.max_device_header_bytes);
        v.device_json = std::move(capped.json);
        v.device_truncated = capped.total;
    }
    return v;
}

namespace {

// One fact header's JSON, capped; `total` keeps the largest count of entries known.
void cap_one(std::string& json_text, std::optional<std::size_t>& total, std::string_view header,
             std::size_t max_line_bytes, nlohmann::json::value_t type) {
    if (header_line_bytes(header, json_text.size()) <= max_line_bytes) return;
    auto parsed = parse_outside_json(json_text);
    if (!parsed.doc || parsed.doc->type() != type) {
        json_text.clear();
        total.reset();
        return;
    }
    auto capped = cap_json_header(*parsed.doc, header, max_line_bytes);
    json_text = std::move(capped.json);
    if (capped.total) total = std::max(total.value_or(0), *capped.total);
}

}  // namespace

void cap_verdict_facts(Verdict& v, const IntuneConfig& config) {
    if (!v.device_json.empty())
        cap_one(v.device_json, v.device_truncated, device_header, config.max_device_header_bytes,
                nlohmann::json::value_t::object);
    if (v.apps_json) {
        cap_one(*v.apps_json, v.apps_truncated, apps_header, config.max_apps_header_bytes,
                nlohmann::json::value_t::array);
        if (v.apps_json->empty()) v.apps_json.reset();
    }
}

}  // namespace ig
