// Issue 26 #5: every header name the gateway can emit is in every "allow" answer of the
// authorization endpoint (empty when it has no value), and every shipped proxy configuration in
// conf/plugin/ overwrites each one on the request to the application, so a client's own value
// (X-Intune-Stale, X-Intune-Device-Truncated, ...) never reaches it. The list is the code's own
// (own_headers in core/text/header_names.hpp, X-Request-Id, the default device_id.header, and the
// outcome headers of conf/plugin/intune-gate.json): a name added there fails this test until
// conf/plugin/ copies it too.
#define BOOST_TEST_MODULE plugin_confs
#include <boost/test/unit_test.hpp>

#include "core/text/header_names.hpp"
#include "proxy/answer/headers.hpp"

#include <boost/algorithm/string/predicate.hpp>
#include <nlohmann/json.hpp>

#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace {

std::string read(const std::string& relative) {
    std::ifstream in(std::string(IG_SOURCE_DIR) + "/" + relative);
    BOOST_REQUIRE_MESSAGE(in, "cannot read " << relative);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

std::vector<std::string> emitted_names() {
    std::vector<std::string> names;
    auto add = [&](std::string_view n) {
        for (const auto& have : names)
            if (boost::iequals(have, n)) return;
        names.emplace_back(n);
    };
    add(ig::Config{}.device_id.header);
    for (auto n : ig::own_headers) add(n);
    add(ig::request_id_header);
    const auto shipped = nlohmann::json::parse(read("conf/plugin/intune-gate.json"));
    add(shipped["device_id"]["header"].get<std::string>());
    for (const auto& [outcome, o] : shipped["outcomes"].items())
        if (o.contains("headers"))
            for (const auto& [name, value] : o["headers"].items()) add(name);
    return names;
}

// The text of the block that opens with `opening` (up to its matching brace).
std::string block(const std::string& text, const std::string& opening) {
    const auto start = text.find(opening);
    BOOST_REQUIRE_MESSAGE(start != std::string::npos, "no `" << opening << "`");
    int depth = 0;
    for (auto i = text.find('{', start); i < text.size(); ++i) {
        if (text[i] == '{') ++depth;
        if (text[i] == '}' && --depth == 0) return text.substr(start, i - start);
    }
    return text.substr(start);
}

bool has_line(const std::string& text, const std::string& pattern) {
    return std::regex_search(text, std::regex(pattern, std::regex::icase | std::regex::multiline));
}

// The lines of a YAML list that follows `key:` (the items until the indentation goes back).
std::vector<std::string> yaml_list(const std::string& text, const std::string& key) {
    std::vector<std::string> items;
    const auto at = text.find(key + ":");
    BOOST_REQUIRE_MESSAGE(at != std::string::npos, "no `" << key << ":`");
    std::istringstream in(text.substr(at));
    std::string line;
    std::getline(in, line);
    const auto indent = at - text.rfind('\n', at) - 1;  // the key's column
    while (std::getline(in, line)) {
        const auto first = line.find_first_not_of(' ');
        if (first == std::string::npos) continue;
        if (first <= indent) break;
        items.push_back(line.substr(first));
    }
    return items;
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_emitted_name_is_in_an_allow_answer) {
    ig::Config c;
    const auto policy = ig::make_header_policy(c);
    ig::Verdict v;
    v.outcome = ig::Outcome::Compliant;
    v.compliance_state = "compliant";
    const std::string id = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";
    ig::ForwardFacts facts;
    facts.outcome = ig::Outcome::Compliant;
    facts.device_id = &id;
    facts.verdict = &v;
    facts.request_id = "r1";
    boost::beast::http::fields f;
    ig::set_answer_headers(f, policy, facts);
    for (auto name : ig::own_headers) BOOST_TEST((f.find(name) != f.end()), name << " missing from the answer");
    BOOST_TEST(f[ig::stale_header] == "");  // not stale: present, empty
    BOOST_TEST(f[ig::outcome_header] == "Compliant");
}

BOOST_AUTO_TEST_CASE(nginx_overwrites_every_name) {
    const auto app = block(read("conf/plugin/nginx.conf"), "location / {");
    for (const auto& n : emitted_names())
        BOOST_TEST(has_line(app, "^\\s*proxy_set_header\\s+" + n + "\\s"), "nginx.conf: no proxy_set_header " << n);
}

BOOST_AUTO_TEST_CASE(caddy_copies_every_name) {
    const auto text = read("conf/plugin/Caddyfile");
    std::smatch m;
    BOOST_REQUIRE(std::regex_search(text, m, std::regex("copy_headers([^\\n]*)")));
    const std::string listed = " " + m[1].str() + " ";
    for (const auto& n : emitted_names())
        BOOST_TEST(boost::icontains(listed, " " + n + " "), "Caddyfile: " << n << " not in copy_headers");
}

BOOST_AUTO_TEST_CASE(traefik_copies_every_name) {
    const auto items = yaml_list(read("conf/plugin/traefik-dynamic.yml"), "authResponseHeaders");
    for (const auto& n : emitted_names()) {
        bool found = false;
        for (const auto& item : items) found = found || boost::iequals(item, "- " + n);
        BOOST_TEST(found, "traefik-dynamic.yml: " << n << " not in authResponseHeaders");
    }
}

BOOST_AUTO_TEST_CASE(envoy_copies_every_name) {
    const auto items = yaml_list(read("conf/plugin/envoy.yaml"), "allowed_upstream_headers");
    for (const auto& n : emitted_names()) {
        bool found = false;
        for (const auto& item : items) {
            std::smatch m;
            if (std::regex_search(item, m, std::regex("^- (prefix|exact): (\\S+)$")))
                found = found || (m[1] == "exact" ? boost::iequals(m[2].str(), n) : boost::istarts_with(n, m[2].str()));
        }
        BOOST_TEST(found, "envoy.yaml: " << n << " not in allowed_upstream_headers");
    }
}

// HAProxy: conf/plugin/intune-gate.lua sets every header of an allow answer but the framing ones on
// the request (after removing every X-Intune-* the client sent), so no emitted name may be framing.
BOOST_AUTO_TEST_CASE(haproxy_copies_every_name) {
    const auto lua = read("conf/plugin/intune-gate.lua");
    BOOST_TEST(has_line(lua, "^\\s*for name, _ in pairs\\(res\\.headers\\) do"), "intune-gate.lua: no copy loop");
    const auto framing = block(lua, "local framing = {");
    for (const auto& n : emitted_names())
        BOOST_TEST(!boost::icontains(framing, "\"" + n + "\""), "intune-gate.lua drops " << n << " as framing");
    BOOST_TEST(has_line(read("conf/plugin/haproxy.cfg"), "^\\s*http-request lua\\.intune_gate\\s"));
}
