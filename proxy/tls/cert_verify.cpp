#include "proxy/tls/cert_verify.hpp"

#include "core/identity/device_id.hpp"
#include "proxy/tls/client_ca_store.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <stdexcept>

namespace ig {

CertVerifier::CertVerifier(const TlsConfig& tls) : store_(make_client_ca_store(tls)) {}

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

namespace {

std::string sha256(std::string_view bytes) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (EVP_Digest(bytes.data(), bytes.size(), md, &n, EVP_sha256(), nullptr) != 1) return {};
    return std::string(reinterpret_cast<const char*>(md), n);
}

// What one remembered check holds, with the map's own node and bucket (an estimate).
std::size_t entry_bytes(const std::string& key, const CertCheck& c) {
    return 128 + key.size() + c.error.size() + (c.device_id ? c.device_id->size() : 0);
}

}  // namespace

CertCheck CertVerifier::check(std::string_view der, const DeviceIdConfig& device_id) const {
    const auto now = std::chrono::system_clock::now();
    const auto key = sha256(der);
    if (!key.empty()) {
        std::lock_guard lock(mutex_);
        if (auto it = remembered_.find(key); it != remembered_.end()) {
            if (now < it->second.until) return it->second.result;
            remembered_bytes_ -= it->second.bytes;
            remembered_.erase(it);
        }
    }
    CertVerifyResult v = verify(der);
    CertCheck out;
    auto until = now + std::chrono::seconds(30);
    if (!v.cert) {
        out.status = CertCheck::NotCertificate;
        out.error = v.error;
        return out;  // not remembered: anyone can send endless distinct bytes
    }
    if (!v.verified) {
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
    if (key.empty()) return out;
    const auto bytes = entry_bytes(key, out);
    std::lock_guard lock(mutex_);
    if (auto it = remembered_.find(key); it != remembered_.end()) {  // another thread checked it meanwhile
        remembered_bytes_ -= it->second.bytes;
        remembered_.erase(it);
    }
    if (remembered_.size() >= max_remembered || remembered_bytes_ + bytes > max_remembered_bytes) {
        remembered_.clear();  // a flood of distinct certificates
        remembered_bytes_ = 0;
    }
    remembered_.emplace(key, Remembered{out, until, bytes});
    remembered_bytes_ += bytes;
    return out;
}

std::size_t CertVerifier::remembered_count() const {
    std::lock_guard lock(mutex_);
    return remembered_.size();
}

std::size_t CertVerifier::remembered_bytes() const {
    std::lock_guard lock(mutex_);
    return remembered_bytes_;
}

}  // namespace ig
