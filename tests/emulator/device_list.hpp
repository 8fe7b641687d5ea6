#pragma once
// GET /v1.0/deviceManagement/managedDevices ($select, $top, $skiptoken): the paged device list
// the bulk sync reads, shaped like Microsoft Graph's (tests/fixtures/graph-managed-devices-page.json),
// with an @odata.nextLink on the origin the client used while more pages remain.
// Synthetic devices (--synthetic-devices N) stand in for a large tenant without a large file.
#include "tests/emulator/emulator_state.hpp"
#include "tests/emulator/wire.hpp"

#include <boost/url/url_view.hpp>

#include <optional>
#include <string>
#include <vector>

namespace ig::test::emu {

inline constexpr std::size_t max_list_page = 1000;  // a larger $top is served in pages of this size

bool is_device_list_route(const std::vector<std::string>& segments);

// "5e000000-0000-4000-8000-<12 hex digits of i>": every tenth one noncompliant, the rest compliant.
std::string synthetic_device_id(std::size_t i);
std::optional<std::size_t> synthetic_device_index(std::string_view id);
nlohmann::json synthetic_device(std::size_t i);
// Its Entra ID device ID: "ad000000-0000-4000-8000-<12 hex digits of i>".
std::string synthetic_entra_id(std::size_t i);

// The page (authorization and faults are checked by the caller).
// $filter: "azureADDeviceId eq '<id>'" (case-insensitive) and "lastSyncDateTime gt <ISO time>" are
// honoured (one page, no nextLink); any other filter is ignored, as Graph does. `f`: the list fault.
response device_list_page(const request& req, boost::urls::url_view target, const std::string& link_origin,
                          emulator_state& state, const fault* f = nullptr);

}  // namespace ig::test::emu
