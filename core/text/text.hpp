#pragma once
// Making outside text safe for where it goes: a log line, a header value, an HTML page. Text that
// came from outside passes one of these before it leaves the gateway.
#include <cstddef>
#include <initializer_list>
#include <string>
#include <string_view>

namespace ig {

// For a value shown as is (complianceState in a header, a log field, a page): printable ASCII only
// (other bytes dropped), at most max_len bytes.
std::string printable_ascii(std::string_view s, std::size_t max_len);

// For one log line or a reason shown to people: control characters become spaces, runs of spaces collapse, trimmed,
// capped at max_len.
std::string one_line(std::string_view s, std::size_t max_len = 300);

// For a header value: drops every control character (CR, LF, NUL, the rest of C0 but HTAB, and
// DEL); trims blanks at both ends. Header values only ever leave the gateway through this.
std::string sanitize_header_value(std::string_view value);

// For HTML content and attribute values: & < > " ' as entities, control characters other than
// tab and line feed dropped.
std::string html_escape(std::string_view text);

// For a value that is refused rather than cleaned (a URL, a file path): whether s holds a control
// character (C0 or DEL).
bool has_control(std::string_view s);

// For a config error message (keys, values, paths the operator wrote): control characters shown
// as \xNN, at most 200 bytes and "..." after.
std::string printable(std::string_view s);

// Replaces every occurrence of each non-empty secret in text with "***".
std::string scrub(std::string text, std::initializer_list<std::string_view> secrets);

}  // namespace ig
