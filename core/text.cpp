#include "core/text.hpp"

namespace ig {

std::string printable_ascii(std::string_view s, std::size_t max_len) {
    std::string out;
    for (unsigned char c : s) {
        if (out.size() >= max_len) break;
        if (c >= 0x20 && c < 0x7f) out += static_cast<char>(c);
    }
    return out;
}

std::string one_line(std::string_view s, std::size_t max_len) {
    std::string out;
    bool space = false;
    for (unsigned char c : s) {
        if (c < 0x20 || c == 0x7f || c == ' ') {
            space = !out.empty();
            continue;
        }
        if (c >= 0x80) c = '?';  // header values must stay ASCII
        if (space) out += ' ';
        space = false;
        out += static_cast<char>(c);
        if (out.size() >= max_len) break;
    }
    if (out.size() > max_len) out.resize(max_len);
    while (!out.empty() && out.back() == ' ') out.pop_back();  // the cut can fall right after a blank
    return out;
}

std::string scrub(std::string text, std::initializer_list<std::string_view> secrets) {
    for (auto secret : secrets) {
        if (secret.size() < 3) continue;  // too short to be a real secret; would mangle the text
        for (auto pos = text.find(secret); pos != std::string::npos; pos = text.find(secret, pos + 3))
            text.replace(pos, secret.size(), "***");
    }
    return text;
}

}  // namespace ig
