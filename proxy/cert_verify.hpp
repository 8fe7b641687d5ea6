#pragma once
// Verifies a client certificate that arrived in a header (plugin mode) the way the TLS handshake
// verifies one on the front end: against tls.client_ca and tls.crl, time validity included, for
// the TLS client purpose. A proxy that lets any certificate through (nginx optional_no_ca, Caddy
// without trusted CAs) therefore cannot hand the gateway an unverified one.
#include "core/config.hpp"

#include <openssl/x509.h>

#include <memory>
#include <string>
#include <string_view>

namespace ig {

using X509Ptr = std::unique_ptr<X509, decltype(&X509_free)>;

struct CertVerifyResult {
    X509Ptr cert{nullptr, &X509_free};  // set when the DER parsed, verified or not
    bool verified = false;
    std::string error;                  // OpenSSL's verify error text when not verified
};

class CertVerifier {
public:
    // Throws std::runtime_error naming the file that could not be loaded.
    explicit CertVerifier(const TlsConfig& tls);
    ~CertVerifier();
    CertVerifier(const CertVerifier&) = delete;
    CertVerifier& operator=(const CertVerifier&) = delete;

    // Thread-safe: the store is only read.
    CertVerifyResult verify(std::string_view der) const;

private:
    X509_STORE* store_ = nullptr;
};

}  // namespace ig
