#include "core/identity/cidr.hpp"

#include <algorithm>
#include <charconv>

namespace ig {
namespace ip = boost::asio::ip;

std::optional<Cidr> parse_cidr(std::string_view text, std::string& problem) {
    const auto slash = text.find('/');
    const std::string address(text.substr(0, slash));
    const bool v6 = address.find(':') != std::string::npos;
    const unsigned max_prefix = v6 ? 128 : 32;
    boost::system::error_code ec;
    ip::address_v4 v4_address;
    ip::address_v6 v6_address;
    if (v6)
        v6_address = ip::make_address_v6(address, ec);
    else
        v4_address = ip::make_address_v4(address, ec);
    // Asio's parser takes a scope ("fe80::1%eth0"); a network has none.
    if (ec || address.find('%') != std::string::npos) {
        problem = "is not a CIDR (like 10.0.0.0/8 or fd00::/8)";
        return std::nullopt;
    }
    unsigned prefix = max_prefix;
    if (slash != std::string_view::npos) {
        const auto digits = text.substr(slash + 1);
        auto [end, perr] = std::from_chars(digits.data(), digits.data() + digits.size(), prefix);
        if (digits.empty() || perr != std::errc() || end != digits.data() + digits.size() || prefix > max_prefix) {
            problem = "has an invalid prefix length (0-" + std::to_string(max_prefix) + ")";
            return std::nullopt;
        }
    }
    Cidr out{ip::network_v4(), std::string(text)};
    bool canonical = true;
    if (v6) {
        const ip::network_v6 net(v6_address, static_cast<unsigned short>(prefix));
        canonical = net == net.canonical();
        out.network = net;
    } else {
        const ip::network_v4 net(v4_address, static_cast<unsigned short>(prefix));
        canonical = net == net.canonical();
        out.network = net;
    }
    if (!canonical) {
        problem = "has bits set past its prefix length";
        return std::nullopt;
    }
    return out;
}

bool contains(const Cidr& cidr, const ip::address& peer) {
    if (const auto* net = std::get_if<ip::network_v4>(&cidr.network)) {
        const auto plain = unmapped(peer);
        return plain.is_v4() && ip::network_v4(plain.to_v4(), net->prefix_length()).canonical() == *net;
    }
    const auto& net = std::get<ip::network_v6>(cidr.network);
    // Bytes only: a link-local peer's scope takes no part in the match.
    const ip::address_v6 address(peer.is_v4() ? ip::make_address_v6(ip::v4_mapped, peer.to_v4()).to_bytes()
                                              : peer.to_v6().to_bytes());
    return ip::network_v6(address, net.prefix_length()).canonical() == net;
}

bool peer_in(const ip::address& peer, const std::vector<Cidr>& networks) {
    return std::any_of(networks.begin(), networks.end(), [&](const Cidr& c) { return contains(c, peer); });
}

ip::address unmapped(const ip::address& peer) {
    if (peer.is_v6() && peer.to_v6().is_v4_mapped()) return ip::make_address_v4(ip::v4_mapped, peer.to_v6());
    return peer;
}

}  // namespace ig
