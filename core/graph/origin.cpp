#include "core/graph/origin.hpp"

#include "core/text/text.hpp"

#include <boost/algorithm/string/predicate.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace ig {
namespace urls = boost::urls;

namespace {

bool is_host_name(std::string_view host) {
    return std::all_of(host.begin(), host.end(), [](char ch) {
        return std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '.' || ch == '_';
    });
}

// The checks of the authority: a host, no user info, a port in range. Empty when fine.
std::string read_authority(const urls::url_view& u, Origin& out) {
    if (!u.has_authority() || u.host_type() == urls::host_type::none || u.encoded_host().empty()) return "needs a host";
    if (u.host_type() == urls::host_type::ipvfuture) return "has an unsupported host";
    if (u.has_userinfo()) return "must not contain user info";
    // After an authority the path is empty or starts with '/'. Boost.URL 1.81 reads what follows the
    // port's digits as a path ("https://h:443x/a": port 443, path "x/a"; boostorg/url issue 680).
    if (!u.encoded_path().empty() && u.encoded_path().front() != '/')
        return u.has_port() ? "has an invalid port (1-65535)" : "is not an absolute URL";
    out.host = u.host_address();
    if (u.host_type() == urls::host_type::name && !is_host_name(out.host)) return "has an invalid host name";
    out.port = out.https ? 443 : 80;
    out.host_header = std::string(u.encoded_host());
    if (u.has_port()) {
        auto port = parse_port(u.port());
        if (!port) return "has an invalid port (1-65535)";
        out.port = *port;
        out.host_header += ":" + std::to_string(out.port);
    }
    return {};
}

}  // namespace

std::optional<std::uint16_t> parse_port(std::string_view digits) {
    unsigned value = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (ec != std::errc() || end != digits.data() + digits.size() || value < 1 || value > 65535) return std::nullopt;
    return static_cast<std::uint16_t>(value);
}

std::string Origin::text() const { return (https ? "https://" : "http://") + host_header; }

urls::url Origin::url(std::initializer_list<std::string_view> segments) const {
    // Parsed from the text rather than built with set_encoded_path(): Boost.URL 1.81 puts "/."
    // before a path that starts with "//" even after an authority (boostorg/url issue 709), which
    // would change the target of a link such as https://host//x.
    urls::url u(text() + base_path);
    for (auto s : segments) u.segments().push_back(s);  // percent-encodes '/', '%', '?', '#' in it
    return u;
}

std::string Origin::key() const { return host + ':' + std::to_string(port); }

bool Origin::same_as(const Origin& other) const {
    return https == other.https && port == other.port && boost::algorithm::iequals(host, other.host);
}

ParsedUrl parse_url(std::string_view text, UrlRules rules) {
    ParsedUrl out;
    auto fail = [&](std::string msg) {
        out.error = std::move(msg);
        return out;
    };
    if (has_control(text)) return fail("must not contain control characters");
    // absolute-URI has no fragment; URI has an optional one.
    auto parsed = rules.fragment_allowed ? urls::parse_uri(text) : urls::parse_absolute_uri(text);
    if (!parsed) return fail("is not an absolute URL");
    const urls::url_view u = *parsed;
    out.origin.https = u.scheme_id() == urls::scheme::https;
    if (!out.origin.https && (u.scheme_id() != urls::scheme::http || !rules.http_allowed))
        return fail(rules.http_allowed ? "must be an http or https URL" : "must be an https URL");
    if (auto problem = read_authority(u, out.origin); !problem.empty()) return fail(std::move(problem));
    const std::string_view path = u.encoded_path();
    if (rules.origin_only && !path.empty() && path != "/") return fail("must not have a path");
    if (rules.origin_only && u.has_query()) return fail("must not have a query");
    out.origin.base_path = std::string(path.substr(0, path.find_last_not_of('/') + 1));
    out.target = std::string(u.encoded_target());
    if (out.target.empty() || out.target.front() != '/') out.target.insert(0, "/");
    return out;
}

}  // namespace ig
