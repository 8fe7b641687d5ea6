#pragma once
// base64url decoding, for tests and the emulator only: the gateway itself only encodes
// (core/text/base64url.hpp).
#include <optional>
#include <string>
#include <string_view>

namespace ig::test {

// Accepts input with or without '=' padding; nullopt when it is not base64url.
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace ig::test
