#include "proxy/tls/client_ca_store.hpp"

#include "proxy/tls/tls_context.hpp"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <new>

namespace ig {

void load_client_ca(X509_STORE* store, const TlsConfig& tls) {
    if (X509_STORE_load_file(store, tls.client_ca.c_str()) != 1)
        throw_tls_file_error("cannot load client CA", tls.client_ca);
    if (!tls.crl) return;
    X509_LOOKUP* lookup = X509_STORE_add_lookup(store, X509_LOOKUP_file());
    if (!lookup || X509_load_crl_file(lookup, tls.crl->c_str(), X509_FILETYPE_PEM) <= 0)
        throw_tls_file_error("cannot load CRL", *tls.crl);
    X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
}

X509StorePtr make_client_ca_store(const TlsConfig& tls) {
    X509StorePtr store(X509_STORE_new());
    if (!store) throw std::bad_alloc();
    load_client_ca(store.get(), tls);
    // The purpose a TLS server checks its client's certificate for.
    X509_STORE_set_purpose(store.get(), X509_PURPOSE_SSL_CLIENT);
    X509_STORE_set_depth(store.get(), client_ca_depth);
    // A handshake refuses weak signatures and short keys at its security level (OpenSSL sets it on
    // the chain's verification); a store of its own checks nothing of the kind unless told.
    X509_VERIFY_PARAM_set_auth_level(X509_STORE_get0_param(store.get()), handshake_security_level());
    return store;
}

int handshake_security_level() {
    static const int level = [] {
        SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
        return ctx ? SSL_CTX_get_security_level(ctx.get()) : 1;
    }();
    return level;
}

}  // namespace ig
