#pragma once
// Owning pointers for OpenSSL objects: std::unique_ptr with the object's own free function, the
// one way the tree holds them.
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <memory>

namespace ig {

template <auto Free>
struct OpenSslFree {
    template <class T>
    void operator()(T* p) const noexcept {
        Free(p);
    }
};

namespace openssl_detail {
inline void free_x509_stack(STACK_OF(X509) * s) { sk_X509_pop_free(s, X509_free); }
inline void free_bytes(unsigned char* p) { OPENSSL_free(p); }
}  // namespace openssl_detail

using BioPtr = std::unique_ptr<BIO, OpenSslFree<BIO_free>>;
using X509Ptr = std::unique_ptr<X509, OpenSslFree<X509_free>>;
using X509CrlPtr = std::unique_ptr<X509_CRL, OpenSslFree<X509_CRL_free>>;
using X509StackPtr =
    std::unique_ptr<STACK_OF(X509), OpenSslFree<openssl_detail::free_x509_stack>>;  // and its certificates
using X509StorePtr = std::unique_ptr<X509_STORE, OpenSslFree<X509_STORE_free>>;
using X509StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, OpenSslFree<X509_STORE_CTX_free>>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, OpenSslFree<GENERAL_NAMES_free>>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, OpenSslFree<EVP_PKEY_free>>;
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, OpenSslFree<EVP_MD_CTX_free>>;
using SslPtr = std::unique_ptr<SSL, OpenSslFree<SSL_free>>;
using SslCtxPtr = std::unique_ptr<SSL_CTX, OpenSslFree<SSL_CTX_free>>;
using OpenSslBytes = std::unique_ptr<unsigned char, OpenSslFree<openssl_detail::free_bytes>>;  // i2d_* output

}  // namespace ig
