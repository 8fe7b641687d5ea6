#include "proxy/peer_match.hpp"

#include <algorithm>
#include <array>
#include <cstdint>

namespace ig {
namespace net = boost::asio;
namespace {

std::array<std::uint8_t, 16> mapped_bytes(const net::ip::address& a) {
    if (a.is_v4()) return net::ip::make_address_v6(net::ip::v4_mapped, a.to_v4()).to_bytes();
    return a.to_v6().to_bytes();
}

bool in_cidr(const std::array<std::uint8_t, 16>& addr, const Cidr& net) {
    unsigned bits = std::min(net.prefix, 128u);
    for (std::size_t i = 0; bits > 0; ++i) {
        const unsigned take = std::min(bits, 8u);
        const std::uint8_t mask = static_cast<std::uint8_t>(0xff00u >> take);
        if ((addr[i] & mask) != (net.address[i] & mask)) return false;
        bits -= take;
    }
    return true;
}

}  // namespace

bool peer_in(const net::ip::address& peer, const std::vector<Cidr>& networks) {
    const auto bytes = mapped_bytes(peer);
    return std::any_of(networks.begin(), networks.end(), [&](const Cidr& c) { return in_cidr(bytes, c); });
}

net::ip::address unmapped(const net::ip::address& peer) {
    if (peer.is_v6() && peer.to_v6().is_v4_mapped()) return net::ip::make_address_v4(net::ip::v4_mapped, peer.to_v6());
    return peer;
}

}  // namespace ig
