#include "core/policy/host_match.hpp"

#include <algorithm>

namespace ig {
namespace {

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool name_char(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'; }

// Labels of name characters, none empty.
bool is_name(std::string_view s) {
    if (s.empty() || s.size() > 253 || s.front() == '.' || s.back() == '.') return false;
    if (s.find("..") != std::string_view::npos) return false;
    return std::all_of(s.begin(), s.end(), name_char);
}

}  // namespace

std::optional<std::string> request_host(std::string_view h) {
    std::string host;
    if (!h.empty() && h.front() == '[') {
        const auto close = h.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        host = std::string(h.substr(0, close + 1));
        h.remove_prefix(close + 1);
        if (!h.empty() && h.front() != ':') return std::nullopt;
        std::transform(host.begin(), host.end(), host.begin(), lower);
        return host;
    }
    h = h.substr(0, h.find(':'));
    host.reserve(h.size());
    for (char c : h) host += lower(c);
    if (!host.empty() && host.back() == '.') host.pop_back();
    if (!is_name(host)) return std::nullopt;  // nginx, too, refuses empty labels
    return host;
}

std::optional<std::string> host_pattern_problem(std::string_view p) {
    std::string s;
    for (char c : p) s += lower(c);
    std::string_view name = s;
    if (name.starts_with("*.")) name.remove_prefix(2);
    if (!is_name(name))
        return std::string(
            "must be a host name (letters, digits, '-', '_', single dots; no port) or \"*.\" and a "
            "host name");
    return std::nullopt;
}

HostPattern make_host_pattern(std::string_view p) {
    HostPattern out;
    for (char c : p) out.text += lower(c);
    return out;
}

bool host_fits(std::string_view host, const HostPattern& pattern) {
    std::string_view p = pattern.text;
    if (!p.starts_with("*.")) return host == p;
    p.remove_prefix(1);  // ".example.com": a name below it ends with it and is longer
    return host.size() > p.size() && host.ends_with(p);
}

}  // namespace ig
