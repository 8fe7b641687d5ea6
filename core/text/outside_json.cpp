#include "core/text/outside_json.hpp"

#include <stdexcept>

namespace ig {
namespace {
using json = nlohmann::json;

struct TooDeep {};
}  // namespace

OutsideJson parse_outside_json(std::string_view text, const JsonLimits& limits, const JsonEventCallback& also) {
    OutsideJson out;
    if (text.size() > limits.max_bytes) {
        out.error = "JSON of " + std::to_string(text.size()) + " bytes is larger than the limit of " +
                    std::to_string(limits.max_bytes);
        return out;
    }
    // `depth` is the number of open objects/arrays around the event; a start event at depth
    // max_depth would open level max_depth + 1.
    auto guard = [&](int depth, json::parse_event_t event, json& parsed) -> bool {
        if ((event == json::parse_event_t::object_start || event == json::parse_event_t::array_start) &&
            depth >= limits.max_depth)
            throw TooDeep{};
        return also ? also(depth, event, parsed) : true;
    };
    try {
        out.doc = json::parse(text, guard);
    } catch (const TooDeep&) {
        out.doc.reset();
        out.error = "JSON nested deeper than " + std::to_string(limits.max_depth) + " levels";
    } catch (const json::exception& e) {
        // "[json.exception.parse_error.101] parse error at line 1, column 2: syntax error ...; last
        // read: '...'" without the tag and without the bytes it quotes (they may be part of a token).
        std::string_view m = e.what();
        if (auto p = m.find("] "); p != std::string_view::npos) m.remove_prefix(p + 2);
        if (auto p = m.find("; last read"); p != std::string_view::npos) m = m.substr(0, p);
        out.doc.reset();
        out.error = "not valid JSON: " + std::string(m.substr(0, 200));
    }
    return out;
}

}  // namespace ig
