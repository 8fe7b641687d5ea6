// Syntax checks of configured values that several sections share (header names and values, addresses).
#include "core/config/config_loader.hpp"

#include <boost/url/ipv4_address.hpp>
#include <boost/url/ipv6_address.hpp>

#include <algorithm>
#include <cctype>

namespace ig::config_load {

bool is_token(std::string_view s) {
    if (s.empty()) return false;
    return std::all_of(s.begin(), s.end(), [](char ch) {
        auto c = static_cast<unsigned char>(ch);
        return std::isalnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(ch) != std::string_view::npos;
    });
}

bool is_field_value(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char ch) {
        auto c = static_cast<unsigned char>(ch);
        return c == '\t' || (c >= 0x20 && c != 0x7f);
    });
}

bool is_ip_address(std::string_view s) {
    return boost::urls::parse_ipv4_address(s).has_value() || boost::urls::parse_ipv6_address(s).has_value();
}

}  // namespace ig::config_load
