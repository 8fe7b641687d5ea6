#pragma once
// The one way JSON from outside the process (Graph, the token endpoint, error bodies, the config
// file) becomes an nlohmann::json: with a size limit and a nesting-depth limit. nlohmann's parser
// itself does not recurse, but copying and dumping a value do, so a body nested a million levels
// deep would overflow the stack long after parsing; it is refused here instead.
#include <nlohmann/json.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace ig {

struct JsonLimits {
    std::size_t max_bytes = 8 << 20;  // the HTTP client's body limit
    int max_depth = 64;  // objects and arrays inside each other; Graph's bodies need < 10
};

struct OutsideJson {
    std::optional<nlohmann::json> doc;  // nullopt when error is set
    std::string error;  // one line: "not valid JSON: ...", "nested deeper than 64 levels", ...
};

// Extra per-event callback (e.g. to note duplicate keys); called for every event after the depth check.
using JsonEventCallback = nlohmann::json::parser_callback_t;

OutsideJson parse_outside_json(std::string_view text, const JsonLimits& limits = {},
                               const JsonEventCallback& also = nullptr);

}  // namespace ig
