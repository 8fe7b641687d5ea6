#pragma once
// Verifies a client certificate that arrived in a header (plugin mode) the way the TLS handshake
// verifies one on the front end (client_ca_store.hpp): against tls.client_ca and tls.crl, time
// validity included, for the TLS client purpose, at the handshake's security level. A proxy that lets any certificate
// through (nginx optional_no_ca, Caddy without trusted CAs) therefore cannot hand the gateway an unverified one.
#include "core/config/config.hpp"
#include "core/tls/openssl_ptr.hpp"

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace ig {

struct CertVerifyResult {
    X509Ptr cert;  // set when the DER parsed, verified or not
    bool verified = false;
    std::string error;  // OpenSSL's verify error text when not verified
};

// What a check needs from a certificate: did it parse, does it verify, which device it names.
struct CertCheck {
    enum Status { NotCertificate, NotVerified, Verified } status = NotCertificate;
    std::string error;  // why not verified
    std::optional<std::string> device_id;  // Verified: device_id_from_certificate()
};

class CertVerifier {
public:
    // Throws std::runtime_error naming the file that could not be loaded.
    explicit CertVerifier(const TlsConfig& tls);
    CertVerifier(const CertVerifier&) = delete;
    CertVerifier& operator=(const CertVerifier&) = delete;

    // Thread-safe: the store is only read.
    CertVerifyResult verify(std::string_view der) const;

    // verify() plus the device ID, remembered per certificate: a proxy sends the same certificate
    // with every request of a device, and parsing plus signature checking cost far more than the
    // rest of a check. A verdict is kept until the certificate's notAfter, at most 5 minutes
    // (a failure 30 s); the CRL only changes with a reload, which builds a new verifier. Only what
    // parsed as a certificate is remembered, under the SHA-256 of its DER (32 bytes, whatever its
    // size), and the memo is bounded in entries and in bytes (issue 26 #6): bytes that are not a
    // certificate cost a parse each time and nothing after.
    CertCheck check(std::string_view der, const DeviceIdConfig& device_id) const;

    // What the memo holds: entries and an estimate of their bytes (keys, results, map overhead).
    std::size_t remembered_count() const;
    std::size_t remembered_bytes() const;

    static constexpr std::size_t max_remembered = 10000;
    static constexpr std::size_t max_remembered_bytes = 4 << 20;

private:
    struct Remembered {
        CertCheck result;
        std::chrono::system_clock::time_point until;
        std::size_t bytes = 0;
    };

    X509StorePtr store_;
    mutable std::mutex mutex_;
    mutable std::unordered_map<std::string, Remembered> remembered_;  // key: SHA-256 of the DER
    mutable std::size_t remembered_bytes_ = 0;
};

}  // namespace ig
