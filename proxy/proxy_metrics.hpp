#pragma once
// What the front end counts; rendered with CoreMetrics by the admin listener.
#include "core/metrics.hpp"
#include "core/outcome.hpp"

namespace ig {

// WeakSignature: a certificate signed with a digest (SHA-1, MD5) or key too weak for OpenSSL's security level.
enum class HandshakeFailure { NoCertificate, UnknownCa, Expired, Revoked, WeakSignature, Other };
inline constexpr std::size_t handshake_failure_count = 6;
inline constexpr std::array<std::string_view, handshake_failure_count> handshake_failure_names{
    "no_certificate", "unknown_ca", "expired", "revoked", "weak_signature", "other"};

struct ProxyMetrics {
    std::array<std::array<Counter, action_count>, outcome_count> requests{};  // [outcome][action]
    std::array<Counter, handshake_failure_count> handshake_failures{};
    Counter handshakes;
    Gauge open_connections;
    Counter upstream_errors;  // connect/read/write failures and timeouts towards the upstream
    Counter rejected_requests;  // 400/413/431 answered by the gateway before any decision

    void count_request(Outcome o, Action a) noexcept {
        requests[static_cast<std::size_t>(o)][static_cast<std::size_t>(a)].inc();
    }
};

}  // namespace ig
