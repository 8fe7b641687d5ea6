#pragma once
// A device found by its Entra ID device ID (README: `device_id.lookup`): Graph's answer to
// managedDevices?$filter=azureADDeviceId eq '{id}'. Microsoft does not document that filter as
// supported, and Graph answers a filter it ignores with every device, so an answer counts only
// when it holds exactly one device, no next page, and that device's azureADDeviceId is the ID.
// Pure function over outside bytes: tests/core/graph/test_entra_lookup.cpp, fuzz/json_bodies.cpp.
#include <string>
#include <string_view>

namespace ig {

inline constexpr std::string_view ambiguous_entra_id = "ambiguous Entra device ID";

struct EntraMatch {
    enum class Kind {
        One,  // `device` is the one device (a JSON object, as a single read returns it)
        None,  // an empty collection: device not found
        Ambiguous,  // anything else: outcome Error, reason ambiguous_entra_id and `why`
    };
    Kind kind = Kind::Ambiguous;
    std::string device;  // One: the device object as JSON text
    std::string intune_id;  // One: its Intune `id`, a lower-case GUID
    std::string why;  // Ambiguous: one line
};

// entra_id must be a normalised (lower-case) GUID.
EntraMatch match_entra_answer(std::string_view body, std::string_view entra_id);

// The $filter value azureADDeviceId eq '{id}', the ID an OData string literal (a quote doubled), so
// that no ID can end the literal and add a clause of its own. Callers pass normalised GUIDs only.
std::string entra_filter(std::string_view entra_id);

}  // namespace ig
