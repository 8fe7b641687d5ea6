#pragma once
// base64url without padding (RFC 4648 §5), as JWTs and the X-Intune-* headers use it. (Decoding
// is for tests only: tests/support/base64url_decode.hpp.)
#include <string>
#include <string_view>

namespace ig {

std::string base64url_encode(std::string_view bytes);

}  // namespace ig
