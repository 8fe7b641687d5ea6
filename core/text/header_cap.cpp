#include "core/text/header_cap.hpp"

namespace ig {

namespace {
std::string dump(const nlohmann::json& j) { return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); }
}  // namespace

std::size_t header_line_bytes(std::string_view name, std::size_t json_bytes) {
    const std::size_t encoded = (json_bytes * 4 + 2) / 3;  // base64url without padding
    return name.size() + 2 + encoded + 2;
}

CappedJson cap_json_header(const nlohmann::json& value, std::string_view header_name, std::size_t max_line_bytes) {
    CappedJson out;
    out.json = dump(value);
    if (!(value.is_array() || value.is_object()) || header_line_bytes(header_name, out.json.size()) <= max_line_bytes)
        return out;
    const bool array = value.is_array();
    // "[a,b]" / "{"k":v,...}": brackets plus one comma between entries.
    std::string kept(1, array ? '[' : '{');
    for (auto it = value.begin(); it != value.end(); ++it) {
        std::string entry = array ? dump(*it) : dump(it.key()) + ':' + dump(*it);
        const std::size_t next = kept.size() + (kept.size() > 1 ? 1 : 0) + entry.size() + 1;
        if (header_line_bytes(header_name, next) > max_line_bytes) break;
        if (kept.size() > 1) kept += ',';
        kept += entry;
    }
    kept += array ? ']' : '}';
    out.json = std::move(kept);
    out.total = value.size();
    return out;
}

}  // namespace ig
