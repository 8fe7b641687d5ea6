#pragma once
// base64url without padding (RFC 4648 §5), as JWTs and the X-Intune-* headers use it.
#include <optional>
#include <string>
#include <string_view>

namespace ig {

std::string base64url_encode(std::string_view bytes);

// Accepts input with or without '=' padding; nullopt when it is not base64url.
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace ig
