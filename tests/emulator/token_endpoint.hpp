#pragma once
// POST /{tenant}/oauth2/v2.0/token: the client_credentials (secret or JWT assertion) and password
// grants, with Entra ID's error bodies.
#include "tests/emulator/emulator_state.hpp"
#include "tests/emulator/wire.hpp"

namespace ig::test::emu {

// tenant: the first path segment; path: the request path as the client sent it.
reply handle_token(const request& req, std::string_view tenant, std::string_view path, emulator_state& state);

}  // namespace ig::test::emu
