#pragma once
// Making outside text safe for one log line or one header value.
#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>

namespace ig {

// Printable ASCII only (other bytes dropped), at most max_len bytes: for values such as complianceState.
std::string printable_ascii(std::string_view s, std::size_t max_len);

// One line: control characters become spaces, runs of spaces collapse, trimmed, capped at max_len.
std::string one_line(std::string_view s, std::size_t max_len = 300);

// Replaces every occurrence of each non-empty secret in text with "***".
std::string scrub(std::string text, std::initializer_list<std::string_view> secrets);

}  // namespace ig
