#include "core/policy/version.hpp"

namespace ig {
namespace {

bool digit(char c) { return c >= '0' && c <= '9'; }

// The next dot-separated part, without leading zeros; `v` is left after its dot.
std::string_view next_part(std::string_view& v) {
    const auto dot = v.find('.');
    std::string_view part = v.substr(0, dot);
    v = dot == std::string_view::npos ? std::string_view() : v.substr(dot + 1);
    while (!part.empty() && part.front() == '0') part.remove_prefix(1);
    return part;
}

}  // namespace

std::optional<std::string_view> comparable_version(std::string_view reported) {
    if (reported.empty() || !digit(reported.front())) return std::nullopt;
    std::size_t n = 0;
    while (n < reported.size() && (digit(reported[n]) || reported[n] == '.')) ++n;
    return reported.substr(0, n);
}

bool is_plain_version(std::string_view v) {
    if (v.empty() || !digit(v.front()) || !digit(v.back()) || v.size() > 64) return false;
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (v[i] == '.' && v[i + 1] == '.') return false;  // v ends with a digit: i + 1 is in range
        if (!digit(v[i]) && v[i] != '.') return false;
    }
    return true;
}

int compare_versions(std::string_view a, std::string_view b) {
    while (!a.empty() || !b.empty()) {
        const auto pa = next_part(a), pb = next_part(b);
        if (pa.size() != pb.size()) return pa.size() < pb.size() ? -1 : 1;
        if (const int c = pa.compare(pb); c != 0) return c < 0 ? -1 : 1;
    }
    return 0;
}

}  // namespace ig
