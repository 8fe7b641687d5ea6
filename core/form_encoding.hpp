#pragma once
// application/x-www-form-urlencoded bodies (token requests).
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ig {

using FormFields = std::vector<std::pair<std::string, std::string>>;

// Every byte outside the RFC 3986 unreserved set is percent-encoded, so '+', '/', '=', '&', '~'
// and spaces in secrets survive any server's parser.
std::string form_encode(const FormFields& fields);

// '+' decodes to a space; nullopt on a malformed escape.
std::optional<FormFields> form_decode(std::string_view body);

}  // namespace ig
