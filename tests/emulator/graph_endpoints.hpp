#pragma once
// Microsoft Graph: GET /v1.0/deviceManagement/managedDevices/{id} ($select) and
// GET /beta/deviceManagement/managedDevices/{id}/detectedApps (paged), Bearer-protected,
// with the configured faults applied.
#include "tests/emulator/emulator_state.hpp"
#include "tests/emulator/wire.hpp"

#include <boost/url/url_view.hpp>

namespace ig::test::emu {

// link_origin: "https://<host the client used>", for @odata.nextLink.
reply handle_graph(const request& req, boost::urls::url_view target, const std::string& link_origin,
                   emulator_state& state);

}  // namespace ig::test::emu
