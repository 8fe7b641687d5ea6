#pragma once
// Keeping a base64url JSON header (X-Intune-Device, X-Intune-Installed-Apps) under a size that the
// servers behind the gateway accept (nginx: 8 kB per header line by default, Node: 16 kB for all).
// Whole entries are kept, never a cut-off one; the caller says with a "-Truncated" header that
// some were left out.
#include "core/text/header_names.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace ig {

// The headers this applies to (device_header, apps_header) and their "-Truncated" markers (value:
// the number of entries there were in all) are named in core/text/header_names.hpp.

struct CappedJson {
    std::string json;  // the JSON text to encode into the header
    std::optional<std::size_t> total;  // set when entries were left out: how many there were in all
};

// The bytes of the header line "<name>: <base64url of json>\r\n".
std::size_t header_line_bytes(std::string_view name, std::size_t json_bytes);

// `value` is a JSON array (entries are elements) or object (entries are members). Keeps the first
// entries, in order, whose header line fits in max_line_bytes; a value that fits is returned whole.
CappedJson cap_json_header(const nlohmann::json& value, std::string_view header_name, std::size_t max_line_bytes);

}  // namespace ig
