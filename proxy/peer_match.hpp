#pragma once
// Whether a TCP peer is inside one of the configured networks (device_id.trusted_peers,
// authz.trusted_peers). IPv4 peers and IPv4-mapped IPv6 peers match IPv4 CIDRs alike.
#include "core/config.hpp"

#include <boost/asio/ip/address.hpp>

#include <vector>

namespace ig {

bool peer_in(const boost::asio::ip::address& peer, const std::vector<Cidr>& networks);

// The peer as logged: an IPv4-mapped IPv6 address is shown as IPv4.
boost::asio::ip::address unmapped(const boost::asio::ip::address& peer);

}  // namespace ig
