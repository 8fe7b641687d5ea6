#pragma once
// The header names the gateway owns or HTTP itself governs, in one place: the config loader refuses
// them as configured names, the header step (proxy/headers) removes them from what a client sent.
#include <array>
#include <string_view>

namespace ig {

// The gateway's own headers toward the upstream or a proxy asking the authorization endpoint.
inline constexpr std::string_view outcome_header = "X-Intune-Outcome";
inline constexpr std::string_view compliance_state_header = "X-Intune-Compliance-State";
inline constexpr std::string_view device_header = "X-Intune-Device";
inline constexpr std::string_view device_truncated_header = "X-Intune-Device-Truncated";
inline constexpr std::string_view apps_header = "X-Intune-Installed-Apps";
inline constexpr std::string_view apps_truncated_header = "X-Intune-Installed-Apps-Truncated";
inline constexpr std::string_view stale_header = "X-Intune-Stale";
inline constexpr std::string_view error_header = "X-Intune-Error";
inline constexpr std::string_view status_header = "X-Intune-Status";
inline constexpr std::string_view managed_device_id_header = "X-Intune-Managed-Device-Id";
// Access policies (docs/policies.md): the policy that applied, and in report mode the requirement
// that failed.
inline constexpr std::string_view policy_header = "X-Intune-Policy";
inline constexpr std::string_view policy_failed_header = "X-Intune-Policy-Failed";
inline constexpr std::string_view request_id_header = "X-Request-Id";

inline constexpr std::array<std::string_view, 12> own_headers{
    outcome_header, compliance_state_header,  device_header, device_truncated_header,
    apps_header,    apps_truncated_header,    stale_header,  error_header,
    status_header,  managed_device_id_header, policy_header, policy_failed_header};

// Names compared as CGI, WSGI, PHP and Rack see them: case-insensitive, `_` the same as `-`
// (to them `X_Intune_Outcome` is `X-Intune-Outcome`).
bool same_header_name(std::string_view a, std::string_view b);

// Connection, Keep-Alive, TE, Trailer, Upgrade and Proxy-* (case-insensitive). The names a
// Connection header lists are hop-by-hop too; the header step reads those from the message.
bool is_hop_by_hop(std::string_view name);

// Host, Content-Length, Transfer-Encoding (case-insensitive).
bool is_framing_header(std::string_view name);

// What only the gateway sets toward the upstream: X-Intune-*, X-Forwarded-*, Forwarded,
// X-Request-Id, and X-Real-IP and True-Client-IP, which it removes (compared as same_header_name does).
bool is_gateway_header(std::string_view name);

// One of own_headers (compared as same_header_name does).
bool is_own_header(std::string_view name);

// A name a configured outcome header may not have: framing, hop-by-hop, a gateway header or the
// device_id header (when not empty).
bool is_reserved_header(std::string_view name, std::string_view device_id_header);

// A name device_id.header may not have: framing, hop-by-hop, one of own_headers or a gateway
// header outside X-Intune- (another X-Intune-* name is fine: the default is X-Intune-Device-Id).
bool is_reserved_device_header(std::string_view name);

}  // namespace ig
