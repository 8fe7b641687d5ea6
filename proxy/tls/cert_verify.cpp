#include "proxy/tls/cert_verify.hpp"

#include "core/identity/device_id.hpp"
#include "proxy/tls/tls_context.hpp"

#include <openssl/err.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <stdexcept>

namespace ig {

CertVerifier::CertVerifier(const TlsConfig& tls) : store_(X509_STORE_new()) {
    X509_STORE* store = store_.get();
    if (!store) throw std::bad_alloc();
    if (X509_STORE_load_file(store, tls.client_ca.c_str()) != 1)
        throw_tls_file_error("cannot load client CA", tls.client_ca);
    if (tls.crl) {
        X509_LOOKUP* lookup = X509_STORE_add_lookup(store, X509_LOOKUP_file());
        if (!lookup || X509_load_crl_file(lookup, tls.crl->c_str(), X509_FILETYPE_PEM) <= 0)
            throw_tls_file_error("cannot load CRL", *tls.crl);
        X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
    }
    // The same purpose check as a TLS server applies to its client's certificate.
    X509_STORE_set_purpose(store, X509_PURPOSE_SSL_CLIENT);
    X509_STORE_set_depth(store, 8);
}

CertVerifyResult CertVerifier::verify(std::string_view der) const {
    CertVerifyResult out;
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    out.cert.reset(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
    if (!out.cert || p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
        ERR_clear_error();
        out.cert.reset();
        out.error = "not a DER certificate";
        return out;
    }
    X509StoreCtxPtr ctx(X509_STORE_CTX_new());
    if (!ctx || X509_STORE_CTX_init(ctx.get(), store_.get(), out.cert.get(), nullptr) != 1) {
        ERR_clear_error();
        out.error = "cannot set up the verification";
        return out;
    }
    // Time is checked against now (X509_V_FLAG_USE_CHECK_TIME is not set).
    out.verified = X509_verify_cert(ctx.get()) == 1;
    if (!out.verified) out.error = X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get()));
    ERR_clear_error();
    return out;
}

}  // namespace ig

namespace ig {

CertCheck CertVerifier::check(std::string_view der, const DeviceIdConfig& device_id) const {
    const auto now = std::chrono::system_clock::now();
    {
        std::lock_guard lock(mutex_);
        if (auto it = remembered_.find(std::string(der)); it != remembered_.end()) {
            if (now < it->second.until) return it->second.result;
            remembered_.erase(it);
        }
    }
    CertVerifyResult v = verify(der);
    CertCheck out;
    auto until = now + std::chrono::seconds(30);
    if (!v.cert) {
        out.status = CertCheck::NotCertificate;
        out.error = v.error;
    } else if (!v.verified) {
        out.status = CertCheck::NotVerified;
        out.error = v.error;
    } else {
        out.status = CertCheck::Verified;
        out.device_id = device_id_from_certificate(v.cert.get(), device_id);
        until = now + std::chrono::minutes(5);
        time_t not_after = 0;
        if (const ASN1_TIME* na = X509_get0_notAfter(v.cert.get())) {
            std::tm tm{};
            if (ASN1_TIME_to_tm(na, &tm) == 1) {
                not_after = timegm(&tm);
                until = std::min(until, std::chrono::system_clock::from_time_t(not_after));
            }
        }
    }
    std::lock_guard lock(mutex_);
    if (remembered_.size() >= max_remembered) remembered_.clear();  // a flood of distinct ones
    remembered_.insert_or_assign(std::string(der), Remembered{out, until});
    return out;
}

}  // namespace ig
