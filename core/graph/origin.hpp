#pragma once
// Where an outgoing HTTP call goes, parsed once with Boost.URL: the core's one URL parser (config
// validation, the Graph client, the token source and the HTTP client all use it).
#include <boost/url/url.hpp>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

namespace ig {

struct Origin {
    bool https = true;
    std::string host;  // for DNS, SNI and the certificate check: decoded, IPv6 without brackets
    std::uint16_t port = 443;  // the scheme's default when the URL gives none
    std::string host_header;  // the Host header: the host as written (IPv6 in brackets), ":port" when given
    std::string base_path;  // percent-encoded, trailing slashes removed; empty for none

    // "scheme://host[:port]" (the Host-header form), scheme in lower case: the origin as configured.
    std::string text() const;
    // text() with base_path and then `segments`, each percent-encoded as one segment (a '/' or '%'
    // in one stays inside it).
    boost::urls::url url(std::initializer_list<std::string_view> segments = {}) const;
    // "host:port": the key of a pool of connections.
    std::string key() const;
    // Same scheme, host (ignoring case) and port (a default port written out or not): a link that
    // may be sent the token meant for this origin.
    bool same_as(const Origin& other) const;
};

struct UrlRules {
    bool http_allowed = false;  // http as well as https
    bool origin_only = false;  // no path other than "/", no query
    bool fragment_allowed = false;  // a link from outside (never sent: it is not part of the target)
};

// An absolute http(s) URL: its origin and the request target to send there.
struct ParsedUrl {
    Origin origin;  // base_path: the URL's path, trailing slashes removed
    std::string target;  // origin-form (path and query), percent-encoded, at least "/"
    std::string error;  // empty when fine; else what is wrong, e.g. "must be an https URL"
};

// A port number in 1-65535, written in decimal digits only.
std::optional<std::uint16_t> parse_port(std::string_view digits);

// Refuses control characters, user info, a host that is not a DNS name or IP address, a port
// outside 1-65535, and what `rules` excludes.
ParsedUrl parse_url(std::string_view text, UrlRules rules = {});

}  // namespace ig
