#pragma once
// What verifies a device certificate, built in one place for the three that verify one: the front
// end's TLS handshake (tls_context.cpp), the plugin endpoint's certificate header (cert_verify.hpp)
// and --explain. tls.client_ca, tls.crl (checked for the device certificate), chains up to
// client_ca_depth certificates, and outside a handshake the TLS client purpose and the security
// level a handshake applies, so that a SHA-1 signature or a short key is refused by all three.
#include "core/config/config.hpp"
#include "core/tls/openssl_ptr.hpp"

namespace ig {

inline constexpr int client_ca_depth = 8;

// Loads tls.client_ca and tls.crl into `store` (CRL checking on when a CRL is given). Throws
// std::runtime_error "cannot load client CA '<file>': <OpenSSL's reason>" (or "cannot load CRL").
void load_client_ca(X509_STORE* store, const TlsConfig& tls);

// A store that verifies device certificates outside a handshake as the handshake does:
// load_client_ca() with the TLS client purpose, client_ca_depth and handshake_security_level().
// Throws as load_client_ca() does.
X509StorePtr make_client_ca_store(const TlsConfig& tls);

// The security level a server handshake applies to the client's chain: OpenSSL's configured
// default (the gateway sets none of its own).
int handshake_security_level();

}  // namespace ig
