#include "core/graph/entra_lookup.hpp"

#include "core/identity/device_id.hpp"
#include "core/text/outside_json.hpp"

namespace ig {

EntraMatch match_entra_answer(std::string_view body, std::string_view entra_id) {
    auto ambiguous = [](std::string why) {
        EntraMatch m;
        m.why = std::move(why);
        return m;
    };
    auto parsed = parse_outside_json(body);
    if (!parsed.doc) return ambiguous("the filter answer is not usable: " + parsed.error);
    const auto& doc = *parsed.doc;
    if (!doc.is_object()) return ambiguous("the filter answer is not a JSON object");
    auto value = doc.find("value");
    if (value == doc.end() || !value->is_array()) return ambiguous("the filter answer has no value array");
    // A next page means more devices than fit one page: the filter was not applied.
    if (doc.contains("@odata.nextLink")) return ambiguous("the filter answer has a next page");
    if (value->empty()) {
        EntraMatch none;
        none.kind = EntraMatch::Kind::None;
        return none;
    }
    if (value->size() != 1) return ambiguous(std::to_string(value->size()) + " devices for one Entra device ID");
    const auto& device = value->front();
    if (!device.is_object()) return ambiguous("the filter answer's device is not a JSON object");
    auto aad = device.find("azureADDeviceId");
    if (aad == device.end() || !aad->is_string()) return ambiguous("the device has no azureADDeviceId");
    auto found = normalize_guid(aad->get_ref<const std::string&>());
    if (!found || *found != entra_id) return ambiguous("the device's azureADDeviceId is another one");
    auto id = device.find("id");
    auto intune_id =
        id != device.end() && id->is_string() ? normalize_guid(id->get_ref<const std::string&>()) : std::nullopt;
    if (!intune_id) return ambiguous("the device has no Intune id");
    EntraMatch one;
    one.kind = EntraMatch::Kind::One;
    one.device = device.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    one.intune_id = std::move(*intune_id);
    return one;
}

std::string entra_filter(std::string_view entra_id) {
    std::string out = "azureADDeviceId eq '";
    for (const char c : entra_id) {
        if (c == '\'') out.push_back('\'');
        out.push_back(c);
    }
    out.push_back('\'');
    return out;
}

}  // namespace ig
