#include "core/decision.hpp"

#include "core/text.hpp"

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

Verdict error(std::string reason) {
    Verdict v;
    v.outcome = Outcome::Error;
    v.reason = one_line(reason);
    return v;
}

std::string http_reason(const char* what, const GraphReply& reply) {
    std::string r = std::string(what) + " (HTTP " + std::to_string(reply.status);
    if (auto e = parse_odata_error(reply.body)) {
        if (!e->code.empty()) r += " " + e->code;
        if (!e->message.empty()) r += ": " + e->message;
        if (!e->request_id.empty()) r += "; request-id " + e->request_id;  // what Microsoft support asks for
    }
    return r + ")";
}

std::string saved_properties(const nlohmann::json& device, const IntuneConfig& config) {
    if (config.device_properties.empty()) return device.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    auto out = nlohmann::json::object();
    for (auto& name : config.device_properties)
        if (auto it = device.find(name); it != device.end()) out[name] = *it;
    return out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}
}  // namespace

std::optional<Outcome> outcome_for_state(std::string_view state) {
    for (auto& [name, outcome] : known_states)
        if (boost::algorithm::iequals(name, state)) return outcome;
    if (boost::algorithm::iequals(state, "unknown")) return Outcome::StatusUnknown;
    return std::nullopt;
}

Verdict decide(const GraphReply& reply, const IntuneConfig& config) {
    switch (reply.kind) {
    case GraphReply::Kind::TokenFailed:
    case GraphReply::Kind::Unreachable: return error(reply.error);
    case GraphReply::Kind::Answered: break;
    }
    if (reply.status == 404) {
        Verdict v;
        v.outcome = config.device_not_found;
        v.reason = "device not found in Intune";
        return v;
    }
    if (reply.status == 401) return error(http_reason("graph refused the token", reply));
    if (reply.status == 403) return error(http_reason("graph denied access", reply));
    if (reply.status == 429 || reply.status >= 500) return error(http_reason("graph unavailable after retries", reply));
    if (reply.status != 200) return error(http_reason("graph answered", reply));

    auto doc = nlohmann::json::parse(reply.body, nullptr, false);
    if (!doc.is_object()) return error("graph answered with a body that is not a JSON object");
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
    if (config.save_device_properties) v.device_json = saved_properties(doc, config);
    return v;
}

}  // namespace ig
