#include "core/graph/client_assertion.hpp"

#include "core/text/base64url.hpp"
#include "core/tls/openssl_ptr.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>

namespace ig {
namespace {

BioPtr open_file(const std::filesystem::path& p) { return BioPtr(BIO_new_file(p.c_str(), "rb")); }

std::string random_jti() {
    unsigned char b[16];
    if (RAND_bytes(b, sizeof b) != 1) return {};
    b[6] = (b[6] & 0x0f) | 0x40;  // a version-4 UUID, as Entra ID examples use
    b[8] = (b[8] & 0x3f) | 0x80;
    char out[37];
    std::snprintf(out, sizeof out, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                  b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
    return out;
}

}  // namespace

AssertionResult make_client_assertion(const std::filesystem::path& certificate_file,
                                      const std::filesystem::path& private_key_file, const std::string& client_id,
                                      const std::string& audience, AssertionAlgorithm algorithm,
                                      std::chrono::system_clock::time_point now) {
    AssertionResult result;
    X509Ptr cert;
    if (auto f = open_file(certificate_file)) cert.reset(PEM_read_bio_X509(f.get(), nullptr, nullptr, nullptr));
    if (!cert) {
        result.error = "cannot read client certificate " + certificate_file.string();
        return result;
    }
    EvpPkeyPtr key;
    if (auto f = open_file(private_key_file)) key.reset(PEM_read_bio_PrivateKey(f.get(), nullptr, nullptr, nullptr));
    if (!key) {
        result.error = "cannot read client private key " + private_key_file.string();
        return result;
    }
    if (X509_check_private_key(cert.get(), key.get()) != 1) {
        result.error = "client private key does not match the client certificate";
        return result;
    }
    if (EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_RSA) {
        result.error = "client private key is not RSA; Entra ID accepts certificate credentials with RSA keys only";
        return result;
    }

    const bool pss = algorithm == AssertionAlgorithm::PS256;
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_len = 0;
    if (X509_digest(cert.get(), pss ? EVP_sha256() : EVP_sha1(), digest, &digest_len) != 1) {
        result.error = "cannot hash the client certificate";
        return result;
    }

    const auto secs = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
    const nlohmann::json header = {
        {"alg", pss ? "PS256" : "RS256"},
        {"typ", "JWT"},
        {pss ? "x5t#S256" : "x5t", base64url_encode({reinterpret_cast<const char*>(digest), digest_len})}};
    const nlohmann::json claims = {{"aud", audience}, {"iss", client_id}, {"sub", client_id}, {"jti", random_jti()},
                                   {"nbf", secs},     {"iat", secs},      {"exp", secs + 600}};
    const std::string signing_input = base64url_encode(header.dump()) + '.' + base64url_encode(claims.dump());

    EvpMdCtxPtr ctx(EVP_MD_CTX_new());
    std::size_t sig_len = 0;
    EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
    // PS256 (RFC 7518 section 3.5): RSASSA-PSS, SHA-256, MGF1 with SHA-256, salt as long as the hash.
    const bool init = ctx && EVP_DigestSignInit(ctx.get(), &pctx, EVP_sha256(), nullptr, key.get()) == 1 &&
                      (!pss || (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
                                EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) == 1 &&
                                EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1));
    if (!init ||
        EVP_DigestSign(ctx.get(), nullptr, &sig_len, reinterpret_cast<const unsigned char*>(signing_input.data()),
                       signing_input.size()) != 1) {
        result.error = "cannot sign the client assertion";
        return result;
    }
    std::string sig(sig_len, '\0');
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &sig_len,
                       reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size()) != 1) {
        result.error = "cannot sign the client assertion";
        return result;
    }
    sig.resize(sig_len);
    result.jwt = signing_input + '.' + base64url_encode(sig);
    return result;
}

}  // namespace ig
