#pragma once
// The Intune device ID from a client certificate (README: `device_id`): SAN URI or subject CN.
#include "core/config.hpp"

#include <openssl/x509.h>

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

}  // namespace ig
