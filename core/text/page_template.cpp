#include "core/text/page_template.hpp"

#include <algorithm>

namespace ig {

PageTemplateResult parse_page_template(std::string_view text) {
    PageTemplateResult out;
    std::string literal;
    std::size_t pos = 0;
    while (pos < text.size()) {
        const auto open = text.find("{{", pos);
        if (open == std::string_view::npos) {
            literal.append(text.substr(pos));
            break;
        }
        literal.append(text.substr(pos, open - pos));
        const auto close = text.find("}}", open + 2);
        const auto name =
            close == std::string_view::npos ? std::string_view() : text.substr(open + 2, close - open - 2);
        const auto it = std::find(page_field_names.begin(), page_field_names.end(), name);
        if (close == std::string_view::npos || it == page_field_names.end()) {
            std::string shown(text.substr(open, std::min<std::size_t>(40, text.size() - open)));
            std::replace_if(
                shown.begin(), shown.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; }, ' ');
            std::string known;
            for (auto n : page_field_names) known.append(known.empty() ? "{{" : ", {{").append(n).append("}}");
            out.error = "unknown placeholder at byte " + std::to_string(open);
            out.error.append(" ('").append(shown).append("'); the placeholders are ").append(known);
            return out;
        }
        if (!literal.empty()) out.page.pieces.emplace_back(std::move(literal));
        literal.clear();
        out.page.pieces.emplace_back(static_cast<PageField>(it - page_field_names.begin()));
        pos = close + 2;
    }
    if (!literal.empty()) out.page.pieces.emplace_back(std::move(literal));
    return out;
}

}  // namespace ig
