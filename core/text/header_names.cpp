#include "core/text/header_names.hpp"

#include <boost/url/grammar/ci_string.hpp>

#include <algorithm>
#include <cctype>

namespace ig {
namespace {

using boost::urls::grammar::ci_is_equal;

char normalised(char c) { return c == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

bool starts_with_icase(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() && ci_is_equal(s.substr(0, prefix.size()), prefix);
}

bool normalised_starts_with(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() && same_header_name(s.substr(0, prefix.size()), prefix);
}

}  // namespace

bool same_header_name(std::string_view a, std::string_view b) {
    return a.size() == b.size() &&
           std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return normalised(x) == normalised(y); });
}

bool is_hop_by_hop(std::string_view name) {
    return ci_is_equal(name, "connection") || ci_is_equal(name, "keep-alive") || ci_is_equal(name, "te") ||
           ci_is_equal(name, "trailer") || ci_is_equal(name, "upgrade") || starts_with_icase(name, "proxy-");
}

bool is_framing_header(std::string_view name) {
    return ci_is_equal(name, "host") || ci_is_equal(name, "content-length") || ci_is_equal(name, "transfer-encoding");
}

bool is_gateway_header(std::string_view name) {
    // X-Real-IP and True-Client-IP: what nginx and CDNs use for the client address; an upstream that
    // trusts them would read a client's own value as its address (issue 26).
    return normalised_starts_with(name, "x-intune-") || normalised_starts_with(name, "x-forwarded-") ||
           same_header_name(name, "forwarded") || same_header_name(name, request_id_header) ||
           same_header_name(name, "x-real-ip") || same_header_name(name, "true-client-ip");
}

bool is_own_header(std::string_view name) {
    return std::any_of(own_headers.begin(), own_headers.end(),
                       [&](std::string_view own) { return same_header_name(own, name); });
}

bool is_reserved_header(std::string_view name, std::string_view device_id_header) {
    return is_framing_header(name) || is_hop_by_hop(name) || is_gateway_header(name) ||
           (!device_id_header.empty() && same_header_name(name, device_id_header));
}

bool is_reserved_device_header(std::string_view name) {
    return is_own_header(name) || (is_reserved_header(name, {}) && !normalised_starts_with(name, "x-intune-"));
}

}  // namespace ig
