#include "proxy/tls/tls_context.hpp"

#include "core/tls/openssl_ptr.hpp"
#include "core/tls/tls_client.hpp"
#include "proxy/tls/client_ca_store.hpp"
#include "proxy/tls/session_cache.hpp"

#include <boost/asio/ssl/error.hpp>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <stdexcept>
#include <string>

namespace ig {
namespace ssl = boost::asio::ssl;
namespace {

constexpr unsigned char session_id_context[] = "intune-gate";

}  // namespace

// OpenSSL resumes only a session whose id context matches, so after a reload that changes client_ca
// (or the CRL, the server certificate, or "optional" to "required") every earlier session needs a
// full handshake, where the new policy applies; a reload that changes none of them keeps the
// sessions resumable. (nginx does the same.)
std::string client_trust_digest(SSL_CTX* ctx, bool certificate_required) {
    EvpMdCtxPtr md(EVP_MD_CTX_new());
    if (!md || EVP_DigestInit_ex(md.get(), EVP_sha256(), nullptr) != 1) throw std::runtime_error("cannot hash");
    EVP_DigestUpdate(md.get(), session_id_context, sizeof session_id_context - 1);
    const unsigned char mode = certificate_required ? 'R' : 'O';
    EVP_DigestUpdate(md.get(), &mode, 1);
    auto add_der = [&](auto* object, auto i2d) {
        unsigned char* der = nullptr;
        const int n = i2d(object, &der);
        const OpenSslBytes owned(der);
        if (n > 0) EVP_DigestUpdate(md.get(), der, static_cast<std::size_t>(n));
    };
    if (X509* own = SSL_CTX_get0_certificate(ctx)) add_der(own, i2d_X509);
    STACK_OF(X509_OBJECT)* objects = X509_STORE_get0_objects(SSL_CTX_get_cert_store(ctx));
    for (int i = 0; i < sk_X509_OBJECT_num(objects); ++i) {
        X509_OBJECT* o = sk_X509_OBJECT_value(objects, i);
        if (X509* c = X509_OBJECT_get0_X509(o))
            add_der(c, i2d_X509);
        else if (X509_CRL* crl = X509_OBJECT_get0_X509_CRL(o))
            add_der(crl, i2d_X509_CRL);
    }
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(md.get(), digest, &len) != 1) throw std::runtime_error("cannot hash");
    return std::string(reinterpret_cast<const char*>(digest), len);
}

std::unique_ptr<ssl::context> make_server_tls_context(const TlsConfig& tls) {
    auto ctx = std::make_unique<ssl::context>(ssl::context::tls_server);
    SSL_CTX* native = ctx->native_handle();
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                     ssl::context::single_dh_use);
    SSL_CTX_set_min_proto_version(native, tls.min_version == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION);
    if (SSL_CTX_use_certificate_chain_file(native, tls.certificate.c_str()) != 1)
        throw_tls_file_error("cannot load certificate", tls.certificate);
    if (SSL_CTX_use_PrivateKey_file(native, tls.private_key.c_str(), SSL_FILETYPE_PEM) != 1)
        throw_tls_file_error("cannot load private key", tls.private_key);
    if (SSL_CTX_check_private_key(native) != 1) throw_tls_file_error("private key does not match", tls.certificate);
    load_client_ca(SSL_CTX_get_cert_store(native), tls);
    // Tell clients which CA we accept, so they pick the right certificate.
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(tls.client_ca.c_str()))
        SSL_CTX_set_client_CA_list(native, names);
    int mode = SSL_VERIFY_PEER;
    if (tls.client_certificate_required) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(native, mode, nullptr);
    SSL_CTX_set_verify_depth(native, client_ca_depth);
    // Only a certificate for client authentication (extendedKeyUsage clientAuth, when it lists any):
    // a server certificate from the device CA is refused. OpenSSL's default for a server, set here so
    // that the rule is visible and shared with the header check and --explain (client_ca_store.cpp).
    SSL_CTX_set_purpose(native, X509_PURPOSE_SSL_CLIENT);
    // Resumed sessions keep the verified peer certificate; the id context is required for that.
    const std::string id_context = client_trust_digest(native, tls.client_certificate_required);
    SSL_CTX_set_session_id_context(
        native, reinterpret_cast<const unsigned char*>(id_context.data()),
        std::min<unsigned>(static_cast<unsigned>(id_context.size()), SSL_MAX_SID_CTX_LENGTH));
    // Resumption from the process's session cache (TLS 1.2 session IDs, TLS 1.3 stateful tickets),
    // or none. One TLS 1.3 ticket is enough; OpenSSL's default of two costs every full handshake.
    if (tls.session_cache > 0) {
        use_process_session_cache(native, tls.session_cache);
        SSL_CTX_set_timeout(native, static_cast<long>(tls.session_timeout.count()));
        SSL_CTX_set_num_tickets(native, 1);
    } else {
        process_session_cache().set_capacity(0);  // what earlier contexts kept goes too
        SSL_CTX_set_options(native, SSL_OP_NO_TICKET);
        SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_OFF);
        SSL_CTX_set_num_tickets(native, 0);
    }
    // Idle keep-alive connections give their TLS record buffers back.
    SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
    return ctx;
}

std::unique_ptr<ssl::context> make_upstream_tls_context(const UpstreamConfig& upstream) {
    auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3);
    if (auto ec = set_up_tls_client(*ctx, upstream.ca_file, TlsTrust::FileOrSystem))
        throw std::runtime_error("cannot load upstream CA '" + upstream.ca_file->string() + "': " + ec.message());
    SSL_CTX_set_session_cache_mode(ctx->native_handle(), SSL_SESS_CACHE_CLIENT);
    return ctx;
}

HandshakeFailure classify_handshake_failure(SSL* ssl, const boost::system::error_code& ec) {
    const long verify = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
    switch (verify) {
        case X509_V_OK: break;
        case X509_V_ERR_CERT_HAS_EXPIRED:
        case X509_V_ERR_CERT_NOT_YET_VALID:
        case X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD:
        case X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD: return HandshakeFailure::Expired;
        case X509_V_ERR_CERT_REVOKED: return HandshakeFailure::Revoked;
        // OpenSSL reports a weak digest on any certificate of the chain as CA_MD_TOO_WEAK.
        case X509_V_ERR_CA_MD_TOO_WEAK:
        case X509_V_ERR_EE_KEY_TOO_SMALL:
        case X509_V_ERR_CA_KEY_TOO_SMALL: return HandshakeFailure::WeakSignature;
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
        case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
        case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
        case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
        case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
        case X509_V_ERR_CERT_SIGNATURE_FAILURE:
        case X509_V_ERR_CERT_UNTRUSTED: return HandshakeFailure::UnknownCa;
        default: return HandshakeFailure::Other;
    }
    if (ec.category() == boost::asio::error::get_ssl_category() &&
        ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE)
        return HandshakeFailure::NoCertificate;
    return HandshakeFailure::Other;
}

void throw_tls_file_error(const std::string& what, const std::filesystem::path& file) {
    const unsigned long err = ERR_get_error();
    char buf[256] = "unknown error";
    if (err) ERR_error_string_n(err, buf, sizeof buf);
    ERR_clear_error();
    throw std::runtime_error(what + " '" + file.string() + "': " + buf);
}

}  // namespace ig
