// A URL as the gateway reads one: from the config file (login_url, graph_url, upstream.url, a help
// link, a redirect location) or from a Graph body (@odata.nextLink), through parse_url() with each
// set of rules the product uses, then the nextLink check against four Graph origins. What parses
// must be what origin.hpp promises: an http(s) origin with a usable host and port, a target in
// origin-form with no fragment, nothing a header or a request line could be split with, the same
// answer under looser rules, and an origin that reads back the same from its own text and url().
#include "core/graph/graph_client.hpp"
#include "core/graph/origin.hpp"
#include "core/text/text.hpp"

#include <boost/url/parse.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

#define CHECK(cond)                                                                        \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            std::fprintf(stderr, "url invariant broken: %s (line %d)\n", #cond, __LINE__); \
            std::abort();                                                                  \
        }                                                                                  \
    } while (0)

// The rules of every parse_url() call in core/: graph_url and login_url at start-up and help_url
// (none), login_url and graph_url in the config (origin only), upstream.url (http too, origin only),
// a redirect location (http too), a Graph link (fragment allowed).
constexpr std::array<ig::UrlRules, 5> rule_sets{{{},
                                                 {.origin_only = true},
                                                 {.http_allowed = true, .origin_only = true},
                                                 {.http_allowed = true},
                                                 {.fragment_allowed = true}}};

// No byte that would end or split a header line or a request line, and nothing else outside
// visible ASCII.
bool header_safe(std::string_view s) {
    for (char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (c <= 0x20 || c >= 0x7f) return false;
    }
    return true;
}

bool same_result(const ig::ParsedUrl& a, const ig::ParsedUrl& b) {
    return a.error == b.error && a.target == b.target && a.origin.https == b.origin.https &&
           a.origin.host == b.origin.host && a.origin.port == b.origin.port &&
           a.origin.host_header == b.origin.host_header && a.origin.base_path == b.origin.base_path;
}

void check_origin(const ig::Origin& o) {
    CHECK(!o.host.empty() && !ig::has_control(o.host));
    CHECK(!o.host_header.empty() && header_safe(o.host_header));
    CHECK(o.host_header.find_first_of("/?#@\\") == std::string::npos);
    CHECK(o.port != 0);
    // An IPv6 address is written in brackets in the Host header, and only then has a ':' in host.
    CHECK((o.host.find(':') != std::string::npos) == (o.host_header.front() == '['));
    CHECK(o.base_path.empty() || (o.base_path.front() == '/' && o.base_path.back() != '/'));
    CHECK(header_safe(o.base_path));
    // The origin as the config stores it (text()) reads back the same.
    const auto again = ig::parse_url(o.text(), {.http_allowed = true, .origin_only = true});
    CHECK(again.error.empty() && again.origin.same_as(o) && again.origin.host == o.host);
    CHECK(again.origin.host_header == o.host_header && again.target == "/");
    // url() adds each segment as one segment: a '/', '%', '?' or '#' in it stays inside it.
    const auto u = o.url({"v2.0", "a/b%2F?#[]"});
    const auto link = ig::parse_url(u.buffer(), {.http_allowed = true});
    CHECK(link.error.empty() && link.origin.same_as(o) && link.origin.host_header == o.host_header);
    CHECK(link.target == o.base_path + "/v2.0/a%2Fb%252F%3F%23%5B%5D");
}

void check_parsed(std::string_view text, const ig::ParsedUrl& p, const ig::UrlRules& rules) {
    CHECK(!ig::has_control(text));
    CHECK(p.origin.https || rules.http_allowed);
    check_origin(p.origin);
    CHECK(!p.target.empty() && p.target.front() == '/' && header_safe(p.target));
    CHECK(p.target.find('#') == std::string::npos);
    CHECK(rules.fragment_allowed || text.find('#') == std::string_view::npos);
    CHECK(p.target.starts_with(p.origin.base_path));
    if (rules.origin_only) CHECK(p.origin.base_path.empty() && p.target == "/");
}

// The nextLink check: what it accepts is what parse_url() reads as a link on graph's origin.
void check_next_link(std::string_view text, const ig::ParsedUrl& as_link) {
    static const std::array<ig::Origin, 4> graphs = [] {
        std::array<ig::Origin, 4> out;
        const std::array<std::string_view, 4> urls{"https://graph.microsoft.com", "https://GRAPH.microsoft.com:443",
                                                   "https://[::1]:8443", "https://127.0.0.1:9443/base"};
        for (std::size_t i = 0; i < urls.size(); ++i) out[i] = ig::parse_url(urls[i]).origin;
        return out;
    }();
    for (const auto& graph : graphs) {
        const auto next = ig::parse_next_link(text, graph);
        const bool on_graph = as_link.error.empty() && as_link.origin.same_as(graph);
        CHECK(next.error.empty() == on_graph);
        if (!on_graph) continue;
        CHECK(same_result(next, as_link));
        CHECK(next.origin.https && next.origin.port == graph.port);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    std::array<ig::ParsedUrl, rule_sets.size()> parsed;
    for (std::size_t i = 0; i < rule_sets.size(); ++i) {
        parsed[i] = ig::parse_url(text, rule_sets[i]);
        if (parsed[i].error.empty())
            check_parsed(text, parsed[i], rule_sets[i]);
        else
            CHECK(!ig::has_control(parsed[i].error));
    }
    const auto& strict = parsed[0];
    // Looser rules accept what stricter ones do, with the same result.
    if (parsed[1].error.empty()) CHECK(same_result(parsed[1], strict));
    if (parsed[2].error.empty() && parsed[2].origin.https) CHECK(same_result(parsed[2], strict));
    if (parsed[1].error.empty()) CHECK(same_result(parsed[2], parsed[1]));
    if (strict.error.empty()) CHECK(same_result(parsed[3], strict) && same_result(parsed[4], strict));
    if (parsed[3].error.empty() && parsed[3].origin.https) CHECK(same_result(parsed[3], strict));
    check_next_link(text, parsed[4]);
    return 0;
}
