#pragma once
// The properties of Microsoft Graph's v1.0 managedDevice that $select can name. Graph answers a
// $select of any other name with 400 BadRequest, so intune.device_properties is checked against
// this table when the configuration is loaded.
#include <optional>
#include <string_view>

namespace ig {

// The property's v1.0 spelling when `name` is one (compared case-insensitively), else nothing.
std::optional<std::string_view> v1_device_property(std::string_view name);

// For a name that exists only in beta (or an old spelling), the v1.0 property holding the same
// fact, e.g. "ownerType" -> "managedDeviceOwnerType"; nothing when v1.0 has none.
std::optional<std::string_view> v1_replacement(std::string_view name);

}  // namespace ig
