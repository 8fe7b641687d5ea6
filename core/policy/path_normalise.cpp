#include "core/policy/path_normalise.hpp"

#include <vector>

namespace ig {
namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool unreserved(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_' || c == '~';
}

// Written as itself in the normalised form, whether it came raw or percent-encoded: every
// upstream decodes these to the same byte (unreserved, the sub-delimiters but `;`, `:` and `@`).
bool plain(unsigned char c) {
    return unreserved(c) || std::string_view("!$&'()*+,=:@").find(static_cast<char>(c)) != std::string_view::npos;
}

void append_escaped(std::string& out, unsigned char c) {
    static constexpr char upper_hex[] = "0123456789ABCDEF";
    out += '%';
    out += upper_hex[c >> 4];
    out += upper_hex[c & 15];
}

// Step 1: one spelling per byte. A byte in plain() is written as itself, any other (but the raw
// delimiters `/` and `;`) percent-encoded in upper case, so two spellings an upstream decodes alike
// are alike here. nullopt for what is refused: an encoded delimiter that upstreams split on
// differently (`%2F`, `%5C`, `%3B`), an encoded NUL, a raw backslash, space, control, `?` or `#`,
// a `%` without two hex digits.
// An overlong UTF-8 lead (`%C0%AE` is a `.` to a lax decoder, as old IIS was): never in valid text,
// so refused rather than guessed at. Looks at the canonical form (upper-case hex).
bool overlong_utf8(std::string_view canonical) {
    for (std::string_view lead : {"%C0", "%C1", "%E0%8", "%E0%9", "%F0%8"})
        if (canonical.find(lead) != std::string_view::npos) return true;
    return false;
}

std::optional<std::string> canonical_bytes(std::string_view path) {
    std::string out;
    out.reserve(path.size());
    for (std::size_t i = 0; i < path.size(); ++i) {
        const auto c = static_cast<unsigned char>(path[i]);
        if (c <= 0x20 || c == 0x7f || c == '\\' || c == '#' || c == '?') return std::nullopt;
        if (c == '/' || c == ';' || plain(c)) {
            out += static_cast<char>(c);
            continue;
        }
        if (c != '%') {
            append_escaped(out, c);  // e.g. raw UTF-8, `"`, `<`: as an upstream's decoder reads them
            continue;
        }
        if (i + 2 >= path.size()) return std::nullopt;
        const int hi = hex_value(path[i + 1]), lo = hex_value(path[i + 2]);
        if (hi < 0 || lo < 0) return std::nullopt;
        const auto v = static_cast<unsigned char>(hi * 16 + lo);
        if (v == '/' || v == '\\' || v == ';' || v == 0) return std::nullopt;
        if (plain(v))
            out += static_cast<char>(v);
        else
            append_escaped(out, v);
        i += 2;
    }
    if (overlong_utf8(out)) return std::nullopt;
    return out;
}

std::string_view name_of(std::string_view segment) { return segment.substr(0, segment.find(';')); }

void join(const std::vector<std::string_view>& segments, bool names_only, std::string& out) {
    out.clear();
    for (auto s : segments) {
        out += '/';
        out += names_only ? name_of(s) : s;
    }
    if (out.empty()) out = "/";
}

}  // namespace

std::optional<NormalisedPath> normalise_path(std::string_view path) {
    if (path.empty() || path.front() != '/') return std::nullopt;
    auto decoded = canonical_bytes(path);
    if (!decoded) return std::nullopt;
    // Steps 2 and 3 at once, segment by segment: an empty segment (its parameters aside) is a
    // repeated `/` unless it ends the path; a dot segment goes, `..` with the segment before it.
    std::vector<std::string_view> out;
    std::string_view rest = std::string_view(*decoded).substr(1);
    for (;;) {
        const auto slash = rest.find('/');
        const bool last = slash == std::string_view::npos;
        const std::string_view segment = rest.substr(0, slash);
        const std::string_view name = name_of(segment);
        if (name == "." || name == "..") {
            if (name == ".." && !out.empty()) out.pop_back();
            if (last) out.emplace_back();  // `/a/b/..` is `/a/`
        } else if (!name.empty() || last) {
            out.push_back(segment);
        }
        if (last) break;
        rest.remove_prefix(slash + 1);
    }
    NormalisedPath n;
    join(out, false, n.forward);
    join(out, true, n.match);
    return n;
}

TargetParts split_target(std::string_view target) {
    const auto q = target.find('?');
    if (q == std::string_view::npos) return {target, {}};
    return {target.substr(0, q), target.substr(q)};
}

std::string without_parameters(std::string_view path) {
    std::string out;
    out.reserve(path.size());
    bool in_parameters = false;
    for (char c : path) {
        if (c == '/') in_parameters = false;
        if (c == ';') in_parameters = true;
        if (!in_parameters) out += c;
    }
    return out;
}

bool path_has_prefix(std::string_view path, std::string_view prefix) {
    if (prefix.empty() || !path.starts_with(prefix)) return false;
    return path.size() == prefix.size() || prefix.back() == '/' || path[prefix.size()] == '/';
}

}  // namespace ig
