#pragma once
// The Intune device ID of a request (docs/configuration.md: `device_id`): from the client certificate (SAN URI or
// subject CN) or, from a trusted peer only, from the device_id.header.
#include "core/config/config.hpp"

#include <openssl/x509.h>
#include <boost/asio/ip/address.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace ig {

// 8-4-4-4-12 hex digits → lower case; anything else (other length, other characters) → nullopt.
std::optional<std::string> normalize_guid(std::string_view text);

struct FoundDeviceId {
    std::string id;
    IdSource source;
};

// The ID and the source it came from (for --explain); device_id_from_certificate() without the source.
std::optional<FoundDeviceId> find_device_id(X509* cert, const DeviceIdConfig& config);

// Tries the certificate sources (san_uri, subject_cn) in config order; the header source is the
// proxy's business and is skipped here. Only a well-formed GUID is an ID.
std::optional<std::string> device_id_from_certificate(X509* cert, const DeviceIdConfig& config);

// Whether device_id.header is honoured from this TCP peer (one of device_id.trusted_peers).
bool header_trusted_from(const DeviceIdConfig& config, const boost::asio::ip::address& peer);

// What a request offers besides the certificate: the device_id.header value when the request has
// exactly one, how many it has, and whether its TCP peer is trusted for it (header_trusted_from).
struct HeaderClaim {
    bool peer_trusted = false;
    std::optional<std::string_view> value;
    std::size_t count = 0;
};

// True when the header source applies (listed in sources, the peer trusted) and the request carries
// the header more than once. Which copy the trusted proxy set cannot be told (one that appends
// instead of replacing passes the client's own along), so the request is refused rather than read
// by either copy or by the next source (docs/configuration.md: `device_id`).
bool header_claim_ambiguous(const DeviceIdConfig& config, const HeaderClaim& header);

// The request's device ID: config.sources in order; the certificate sources give `cert_id`
// (device_id_from_certificate(), found once per connection), the header source the claim's value,
// honoured only from a trusted peer. Only a well-formed GUID is an ID.
std::optional<std::string> request_device_id(const DeviceIdConfig& config, const std::optional<std::string>& cert_id,
                                             const HeaderClaim& header);

}  // namespace ig
