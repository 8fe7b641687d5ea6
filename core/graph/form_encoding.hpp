#pragma once
// application/x-www-form-urlencoded bodies (token requests). (Decoding is for tests only:
// tests/support/form_decode.hpp.)
#include <string>
#include <utility>
#include <vector>

namespace ig {

using FormFields = std::vector<std::pair<std::string, std::string>>;

// Every byte outside the RFC 3986 unreserved set is percent-encoded, so '+', '/', '=', '&', '~'
// and spaces in secrets survive any server's parser.
std::string form_encode(const FormFields& fields);

}  // namespace ig
