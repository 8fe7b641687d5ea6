// A request as per-path policies read it (README: Access policies): the host (up to the first
// newline) through request_host(), the rest as a path through normalise_path() and the prefix
// match. Invariants: normalising twice changes nothing; the forwarded path starts with one `/`, has
// no empty or dot segment before its end (parameters dropped), no encoded slash, backslash,
// semicolon or NUL, raw only the bytes every upstream reads as themselves (so one spelling each); the match form is the
// forwarded path without parameters; and the policy decision on the match form is the one an upstream reading the
// forwarded path (Tomcat's way: parameters dropped, then percent-decoded) would make.
#include "core/policy/host_match.hpp"
#include "core/policy/path_normalise.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace {

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            std::fprintf(stderr, "policy_path invariant broken: %s (line %d)\n", #cond, __LINE__); \
            std::abort();                                                                          \
        }                                                                                          \
    } while (0)

int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;  // the forwarded path's escapes are upper case
}

// The upstream's reading of a forwarded path: segments, parameters dropped, then decoded.
std::vector<std::string> upstream_segments(std::string_view forward) {
    std::vector<std::string> out;
    std::string_view rest = forward.substr(1);
    for (;;) {
        const auto slash = rest.find('/');
        std::string_view seg = rest.substr(0, slash);
        seg = seg.substr(0, seg.find(';'));
        std::string decoded;
        for (std::size_t i = 0; i < seg.size(); ++i) {
            if (seg[i] == '%') {
                CHECK(i + 2 < seg.size() && hex(seg[i + 1]) >= 0 && hex(seg[i + 2]) >= 0);
                decoded += static_cast<char>(hex(seg[i + 1]) * 16 + hex(seg[i + 2]));
                i += 2;
            } else {
                decoded += seg[i];
            }
        }
        out.push_back(std::move(decoded));
        if (slash == std::string_view::npos) break;
        rest.remove_prefix(slash + 1);
    }
    return out;
}

// Whether the upstream's segments lie under the prefix's (a prefix ending in `/` ends in "").
bool upstream_under(const std::vector<std::string>& segs, std::string_view prefix) {
    std::vector<std::string> want = upstream_segments(prefix);
    const bool dir = want.back().empty();
    if (dir) want.pop_back();
    if (segs.size() < want.size()) return false;
    for (std::size_t i = 0; i < want.size(); ++i)
        if (segs[i] != want[i]) return false;
    return !dir || segs.size() > want.size();
}

void check_path(std::string_view path) {
    const auto n = ig::normalise_path(path);
    if (!n) return;
    const auto again = ig::normalise_path(n->forward);
    CHECK(again && again->forward == n->forward && again->match == n->match);
    CHECK(ig::without_parameters(n->forward) == n->match);
    CHECK(!n->forward.empty() && n->forward.front() == '/');
    // Raw: only what every upstream reads as itself, and the delimiters; the rest encoded.
    for (char ch : n->forward) {
        const auto c = static_cast<unsigned char>(ch);
        const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        CHECK(alnum || std::string_view("-._~!$&'()*+,=:@/;%").find(ch) != std::string_view::npos);
    }
    for (std::string_view bad : {"%2F", "%5C", "%00", "%3B"}) CHECK(n->forward.find(bad) == std::string::npos);
    const auto segs = upstream_segments(n->forward);
    for (std::size_t i = 0; i < segs.size(); ++i) {
        CHECK(segs[i] != "." && segs[i] != "..");
        CHECK(!segs[i].empty() || i + 1 == segs.size());
        CHECK(segs[i].find('/') == std::string::npos && segs[i].find('\\') == std::string::npos);
    }
    for (std::string_view prefix : {"/admin", "/api/admin/", "/a", "/", "/caf%C3%A9", "/a!b"})
        CHECK(ig::path_has_prefix(n->match, prefix) == upstream_under(segs, prefix));
}

void check_host(std::string_view text) {
    const auto h = ig::request_host(text);
    if (!h) return;
    const auto again = ig::request_host(*h);
    CHECK(again && *again == *h);
    if (h->front() != '[')
        for (char c : *h) CHECK(!(c >= 'A' && c <= 'Z') && c != ':');
    const auto wild = ig::make_host_pattern("*.example.com");
    if (ig::host_fits(*h, wild)) CHECK(h->size() > 12 && h->ends_with(".example.com"));
    CHECK(!ig::host_fits("example.com", wild));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    const auto nl = in.find('\n');
    if (nl == std::string_view::npos) {
        check_path(in);
        return 0;
    }
    check_host(in.substr(0, nl));
    check_path(in.substr(nl + 1));
    return 0;
}
