#pragma once
// What the front end counts; rendered with CoreMetrics by the admin listener.
#include "core/verdict/metrics.hpp"
#include "core/verdict/outcome.hpp"
#include "proxy/admin/policy_metrics.hpp"

namespace ig {

// WeakSignature: a certificate signed with a digest (SHA-1, MD5) or key too weak for OpenSSL's security level.
enum class HandshakeFailure { NoCertificate, UnknownCa, Expired, Revoked, WeakSignature, Other };
inline constexpr std::size_t handshake_failure_count = 6;
inline constexpr std::array<std::string_view, handshake_failure_count> handshake_failure_names{
    "no_certificate", "unknown_ca", "expired", "revoked", "weak_signature", "other"};

// What one check of the authorization endpoint ended in; each check counts once.
enum class AuthzResult {
    Allowed,
    Rejected,
    Redirected,
    UntrustedPeer,
    CertificateNotVerified,
    NoCertificate,
    AmbiguousCertificate
};
inline constexpr std::size_t authz_result_count = 7;
inline constexpr std::array<std::string_view, authz_result_count> authz_result_names{"allowed",
                                                                                     "rejected",
                                                                                     "redirected",
                                                                                     "untrusted_peer",
                                                                                     "certificate_not_verified",
                                                                                     "no_certificate",
                                                                                     "ambiguous_certificate"};

// What one "Check again" (proxy/answer/recheck.hpp) ended in.
enum class RecheckResult { Rechecked, RateLimited, NoDeviceId };
inline constexpr std::size_t recheck_result_count = 3;
inline constexpr std::array<std::string_view, recheck_result_count> recheck_result_names{"rechecked", "rate_limited",
                                                                                         "no_device_id"};

struct ProxyMetrics {
    std::array<std::array<Counter, action_count>, outcome_count> requests{};  // [outcome][action]
    std::array<Counter, handshake_failure_count> handshake_failures{};
    Counter handshakes;
    Gauge open_connections;
    Counter upstream_errors;  // connect/read/write failures and timeouts towards the upstream
    Counter rejected_requests;  // 400/413/431 answered by the gateway before any decision
    std::array<Counter, authz_result_count> authz_checks{};  // the authorization endpoint, by result
    Gauge authz_open_connections;
    Counter authz_refused_max_connections;  // closed at accept: max_connections reached, none idle to evict
    Counter authz_idle_evicted;  // idle endpoint connections closed to make room at max_connections
    Counter refused_max_connections;  // accepted and closed at once: max_connections reached
    Counter refused_per_address;  // accepted and closed at once: max_connections_per_address reached
    Counter handshakes_evicted;  // closed in their handshake to stay within max_pending_handshakes
    Counter idle_evicted;  // handshake done, no complete request yet: closed to make room at max_connections
    Counter accept_errors;  // accept() failures (e.g. EMFILE), each followed by a pause
    std::array<Counter, recheck_result_count> rechecks{};  // "Check again", front end and endpoint
    PolicyCounters policies;  // access policies: results and failed requirements

    void count_request(Outcome o, Action a) noexcept {
        requests[static_cast<std::size_t>(o)][static_cast<std::size_t>(a)].inc();
    }
    void count_authz(AuthzResult r) noexcept { authz_checks[static_cast<std::size_t>(r)].inc(); }
    void count_recheck(RecheckResult r) noexcept { rechecks[static_cast<std::size_t>(r)].inc(); }
};

}  // namespace ig
