#include "tests/emulator/client_assertion.hpp"

#include "tests/emulator/wire.hpp"

#include "core/tls/openssl_ptr.hpp"

#include <boost/url/parse.hpp>
#include <nlohmann/json.hpp>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <vector>

namespace ig::test::emu {

namespace {

X509Ptr load_cert(const std::filesystem::path& p) {
  BioPtr f(BIO_new_file(p.c_str(), "rb"));
  if (!f) return nullptr;
  return X509Ptr(PEM_read_bio_X509(f.get(), nullptr, nullptr, nullptr));
}

std::string cert_digest(X509* cert, const EVP_MD* md) {
  unsigned char buf[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (X509_digest(cert, md, buf, &n) != 1) return {};
  return base64url_encode(std::string_view(reinterpret_cast<char*>(buf), n));
}

struct parts {
  std::string_view header_b64, payload_b64, sig_b64;
};

std::optional<parts> split(std::string_view jwt) {
  auto a = jwt.find('.');
  if (a == std::string_view::npos) return std::nullopt;
  auto b = jwt.find('.', a + 1);
  if (b == std::string_view::npos || jwt.find('.', b + 1) != std::string_view::npos) return std::nullopt;
  return parts{jwt.substr(0, a), jwt.substr(a + 1, b - a - 1), jwt.substr(b + 1)};
}

std::optional<nlohmann::json> decode_json(std::string_view b64) {
  auto raw = base64url_decode(b64);
  if (!raw) return std::nullopt;
  auto j = nlohmann::json::parse(*raw, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return j;
}

bool verify_signature(EVP_PKEY* key, std::string_view alg, std::string_view signing_input, const std::string& sig) {
  // Entra ID accepts certificate credentials with RSA keys only: PS256 (RSASSA-PSS, SHA-256, salt
  // as long as the hash) or RS256 (PKCS#1 v1.5).
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_RSA || (alg != "PS256" && alg != "RS256")) return false;
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), &pctx, EVP_sha256(), nullptr, key) != 1) return false;
  if (alg == "PS256" && (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
                         EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) != 1 ||
                         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1))
    return false;
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                          reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size()) == 1;
}

bool aud_matches(const nlohmann::json& aud, std::string_view expected_path) {
  auto one = [&](const nlohmann::json& a) {
    if (!a.is_string()) return false;
    const auto& text = a.get_ref<const std::string&>();
    auto u = boost::urls::parse_absolute_uri(text);
    return u && to_lower(u->scheme()) == "https" && to_lower(u->path()) == to_lower(expected_path);
  };
  if (aud.is_array()) {
    for (auto& a : aud)
      if (one(a)) return true;
    return false;
  }
  return one(aud);
}

}  // namespace

std::optional<std::string> assertion_issuer(std::string_view jwt) {
  auto p = split(jwt);
  if (!p) return std::nullopt;
  auto payload = decode_json(p->payload_b64);
  if (!payload || !payload->contains("iss") || !payload->at("iss").is_string()) return std::nullopt;
  return payload->at("iss").get<std::string>();
}

std::optional<std::string> unsupported_algorithm(std::string_view jwt) {
  auto p = split(jwt);
  if (!p) return std::nullopt;
  auto header = decode_json(p->header_b64);
  if (!header) return std::nullopt;
  auto alg = header->value("alg", "");
  if (alg == "PS256" || alg == "RS256") return std::nullopt;
  return alg.substr(0, 16);
}

std::optional<std::string> verify_client_assertion(std::string_view jwt, const std::filesystem::path& certificate,
                                                   std::string_view client_id, std::string_view expected_path) {
  auto p = split(jwt);
  if (!p) return "JWT is not three base64url parts";
  auto header = decode_json(p->header_b64);
  auto payload = decode_json(p->payload_b64);
  auto sig = base64url_decode(p->sig_b64);
  if (!header || !payload || !sig) return "JWT parts do not decode";

  if (certificate.empty()) return "no certificate registered for the client";
  auto cert = load_cert(certificate);
  if (!cert) return "registered certificate cannot be read";

  auto alg = header->value("alg", "");
  const bool has_s256 = header->contains("x5t#S256"), has_sha1 = header->contains("x5t");
  if (!has_s256 && !has_sha1) return "JWT header has no x5t#S256";
  if (has_s256 && header->value("x5t#S256", "") != cert_digest(cert.get(), EVP_sha256()))
    return "x5t#S256 does not match the registered certificate";
  if (has_sha1 && header->value("x5t", "") != cert_digest(cert.get(), EVP_sha1()))
    return "x5t does not match the registered certificate";

  EVP_PKEY* key = X509_get0_pubkey(cert.get());
  if (!key) return "registered certificate has no usable key";
  std::string_view signing_input(p->header_b64.data(), p->header_b64.size() + 1 + p->payload_b64.size());
  if (!verify_signature(key, alg, signing_input, *sig)) return "signature verification failed";

  auto str_claim = [&](const char* name) {
    auto it = payload->find(name);
    return it != payload->end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  if (to_lower(str_claim("iss")) != to_lower(client_id) || to_lower(str_claim("sub")) != to_lower(client_id))
    return "iss and sub must be the client_id";
  if (!payload->contains("aud") || !aud_matches(payload->at("aud"), expected_path))
    return "aud is not the token endpoint";

  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch()).count();
  constexpr long long skew = 60;
  auto exp = payload->find("exp");
  if (exp == payload->end() || !exp->is_number()) return "exp missing";
  if (exp->get<double>() <= static_cast<double>(now)) return "assertion expired";
  if (auto nbf = payload->find("nbf"); nbf != payload->end()) {
    if (!nbf->is_number()) return "nbf not a number";
    if (nbf->get<double>() > static_cast<double>(now + skew)) return "assertion not yet valid";
  }
  return std::nullopt;
}

}  // namespace ig::test::emu
