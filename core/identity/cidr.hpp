#pragma once
// The networks of device_id.trusted_peers and authz.trusted_peers: parsed and matched with Asio's
// network_v4 / network_v6. An IPv4 peer and an IPv4-mapped IPv6 peer match IPv4 networks alike; an
// IPv6 network matches an IPv4 peer by its IPv4-mapped form (::ffff:0:0/96 holds every IPv4 peer).
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/network_v4.hpp>
#include <boost/asio/ip/network_v6.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace ig {

struct Cidr {
    std::variant<boost::asio::ip::network_v4, boost::asio::ip::network_v6> network;
    std::string text;  // as configured

    bool operator==(const Cidr&) const = default;
};

// "10.0.0.0/8", "fd00::/8", or an address alone (a /32 or /128 network). No bits may be set past
// the prefix length. On failure, nullopt and `problem` says why (worded for a config error).
std::optional<Cidr> parse_cidr(std::string_view text, std::string& problem);

bool contains(const Cidr& cidr, const boost::asio::ip::address& peer);

bool peer_in(const boost::asio::ip::address& peer, const std::vector<Cidr>& networks);

// The peer as logged: an IPv4-mapped IPv6 address is shown as IPv4.
boost::asio::ip::address unmapped(const boost::asio::ip::address& peer);

}  // namespace ig
