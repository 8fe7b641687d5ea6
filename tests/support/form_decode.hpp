#pragma once
// application/x-www-form-urlencoded decoding, for tests and the emulator's token endpoint only:
// the gateway itself only encodes (core/graph/form_encoding.hpp).
#include "core/graph/form_encoding.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace ig::test {

// '+' decodes to a space; nullopt on a malformed escape. Empty pairs ("a=1&&b=2") are skipped.
std::optional<FormFields> form_decode(std::string_view body);

// One name or value.
std::optional<std::string> form_decode_component(std::string_view text);

}  // namespace ig::test
