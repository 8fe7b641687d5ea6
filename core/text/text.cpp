#include "core/text/text.hpp"

#include <algorithm>

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

std::string sanitize_header_value(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (const char ch : value) {
        const auto c = static_cast<unsigned char>(ch);
        if ((c < 0x20 && c != '\t') || c == 0x7f) continue;
        out.push_back(ch);
    }
    const auto first = out.find_first_not_of(" \t");
    if (first == std::string::npos) return {};
    out.erase(out.find_last_not_of(" \t") + 1);
    out.erase(0, first);
    return out;
}

std::string html_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size() + text.size() / 8);
    for (char c : text) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&#39;"; break;
            default:
                if ((static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n') || c == 0x7f) break;
                out += c;
        }
    }
    return out;
}

bool has_control(std::string_view s) {
    return std::any_of(s.begin(), s.end(), [](char ch) {
        auto c = static_cast<unsigned char>(ch);
        return c < 0x20 || c == 0x7f;
    });
}

std::string printable(std::string_view s) {
    std::string out;
    for (unsigned char c : s.substr(0, 200)) {
        if (c < 0x20 || c == 0x7f) {
            static constexpr char hex[] = "0123456789abcdef";
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 15];
        } else {
            out += static_cast<char>(c);
        }
    }
    if (s.size() > 200) out += "...";
    return out;
}

}  // namespace ig
