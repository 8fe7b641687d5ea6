#pragma once
// An operator's deny page: HTML with {{request_id}}, {{outcome}}, {{reason}}, {{help}},
// {{help_url}} and {{time}} placeholders, split once (at config load) into literal text and fields.
#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace ig {

enum class PageField { RequestId, Outcome, Reason, Help, HelpUrl, Time };
inline constexpr std::size_t page_field_count = 6;
inline constexpr std::array<std::string_view, page_field_count> page_field_names{"request_id", "outcome",  "reason",
                                                                                 "help",       "help_url", "time"};

struct PageTemplate {
    std::vector<std::variant<std::string, PageField>> pieces;  // literal text, or a field to fill in
};

struct PageTemplateResult {
    PageTemplate page;
    std::string error;  // empty when the template is fine
};

// "{{" name "}}" with a known name (no spaces) is a field; any other "{{" is an error, so a typo
// shows at config check instead of on a user's screen.
PageTemplateResult parse_page_template(std::string_view text);

}  // namespace ig
