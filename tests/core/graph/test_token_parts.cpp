#define BOOST_TEST_MODULE token_parts
#include <boost/test/unit_test.hpp>

#include "core/graph/client_assertion.hpp"
#include "core/graph/form_encoding.hpp"
#include "core/graph/retry.hpp"
#include "core/graph/token_source.hpp"
#include "core/text/base64url.hpp"
#include "core/tls/openssl_ptr.hpp"
#include "tests/support/base64url_decode.hpp"
#include "tests/support/form_decode.hpp"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>

using namespace ig;
using ig::test::base64url_decode;
using ig::test::form_decode;
namespace fs = std::filesystem;

BOOST_AUTO_TEST_CASE(form_encoding_round_trip) {
    const std::string secret = "demo-s3cret+/=&~ x";
    const FormFields fields{{"client_secret", secret},
                            {"password", "p@ss w+rd&="},
                            {"scope", "https://graph.microsoft.com/.default"},
                            {"empty", ""},
                            {"utf8", "\xc3\xa4\r\n\x01"}};
    const auto body = form_encode(fields);
    BOOST_TEST(body.find(' ') == std::string::npos);
    BOOST_TEST(body.find("demo-s3cret%2B%2F%3D%26%7E%20x") != std::string::npos);
    BOOST_TEST(std::count(body.begin(), body.end(), '&') == 4);  // only the separators
    auto back = form_decode(body);
    BOOST_REQUIRE(back.has_value());
    BOOST_TEST((*back == fields));
    // A browser-style body: '+' means space.
    auto plus = form_decode("a=x+y&b=%2B");
    BOOST_REQUIRE(plus.has_value());
    BOOST_TEST((*plus)[0].second == "x y");
    BOOST_TEST((*plus)[1].second == "+");
    BOOST_TEST(!form_decode("a=%zz").has_value());
}

BOOST_AUTO_TEST_CASE(base64url_round_trip) {
    for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar", "\xff\xfe\xfd?>"}) {
        auto e = base64url_encode(s);
        BOOST_TEST(e.find_first_of("+/=") == std::string::npos);
        auto d = base64url_decode(e);
        BOOST_REQUIRE(d.has_value());
        BOOST_TEST(*d == s);
    }
    BOOST_TEST(base64url_encode("\xfb\xff") == "-_8");
    BOOST_TEST(!base64url_decode("a").has_value());
    BOOST_TEST(!base64url_decode("ab+/").has_value());
}

BOOST_AUTO_TEST_CASE(retry_after_parsing) {
    using std::chrono::milliseconds;
    BOOST_TEST(parse_retry_after("1")->count() == 1000);
    BOOST_TEST(parse_retry_after(" 30 ")->count() == 30000);
    // Graph's throttling documentation shows "Retry-After: 2.128": wait at least 2128 ms.
    BOOST_TEST(parse_retry_after("2.128")->count() == 2128);
    BOOST_TEST(parse_retry_after("0.0001")->count() == 1);  // rounded up, never sooner
    BOOST_TEST(!parse_retry_after("").has_value());
    BOOST_TEST(!parse_retry_after("-1").has_value());
    BOOST_TEST(!parse_retry_after("1.").has_value());
    BOOST_TEST(!parse_retry_after(".5").has_value());
    BOOST_TEST(!parse_retry_after("1e3").has_value());
    BOOST_TEST(!parse_retry_after("inf").has_value());
    BOOST_TEST(!parse_retry_after("86401").has_value());  // more than a day: not believed
    // HTTP-date, relative to now; all three forms of RFC 9110.
    const auto now = std::chrono::system_clock::from_time_t(1445412475);  // Wed, 21 Oct 2015 07:27:55 GMT
    BOOST_TEST(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now)->count() == 5000);
    BOOST_TEST(parse_retry_after("Wednesday, 21-Oct-15 07:28:00 GMT", now)->count() == 5000);
    BOOST_TEST(parse_retry_after("Wed Oct 21 07:28:00 2015", now)->count() == 5000);
    BOOST_TEST(parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now)->count() == 0);  // past: no wait
    BOOST_TEST(!parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT junk", now).has_value());
    BOOST_TEST(!parse_retry_after("Wed, 21 Oct 2035 07:28:00 GMT", now).has_value());  // years ahead
    BOOST_TEST(retryable_status(429));
    BOOST_TEST(retryable_status(503));
    BOOST_TEST(!retryable_status(501));
    BOOST_TEST(!retryable_status(404));
}

namespace {

struct KeyPair {
    fs::path cert, key;
};

KeyPair make_keypair(const std::string& name, const std::string& keyopt) {
    auto dir = fs::path(IG_BINARY_DIR) / "test-core-keys";
    fs::create_directories(dir);
    KeyPair kp{dir / (name + ".crt"), dir / (name + ".key")};
    const std::string cmd = "openssl req -x509 -newkey " + keyopt + " -nodes -days 2 -subj /CN=app -keyout " +
                            kp.key.string() + " -out " + kp.cert.string() + " >/dev/null 2>&1";
    BOOST_REQUIRE(std::system(cmd.c_str()) == 0);
    return kp;
}

X509Ptr read_cert(const fs::path& cert_file) {
    BioPtr bio(BIO_new_file(cert_file.c_str(), "rb"));
    X509Ptr cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
    BOOST_REQUIRE(cert);
    return cert;
}

std::string thumbprint(const fs::path& cert_file, const EVP_MD* md) {
    const auto cert = read_cert(cert_file);
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    X509_digest(cert.get(), md, d, &n);
    return base64url_encode(std::string(reinterpret_cast<const char*>(d), n));
}

nlohmann::json json_part(const std::string& b64) {
    auto raw = base64url_decode(b64);
    BOOST_REQUIRE(raw.has_value());
    return nlohmann::json::parse(*raw);
}

// Verifies the JWS signature with the certificate's public key.
bool verify(const std::string& jwt, const fs::path& cert_file, bool pss) {
    const auto dot2 = jwt.rfind('.');
    const std::string input = jwt.substr(0, dot2);
    auto sig = base64url_decode(jwt.substr(dot2 + 1)).value();
    const auto cert = read_cert(cert_file);
    const EvpPkeyPtr pub(X509_get_pubkey(cert.get()));
    const std::string der = sig;
    const EvpMdCtxPtr ctx(EVP_MD_CTX_new());
    EVP_PKEY_CTX* pctx = nullptr;
    return EVP_DigestVerifyInit(ctx.get(), &pctx, EVP_sha256(), nullptr, pub.get()) == 1 &&
           (!pss || (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
                     EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1)) &&
           EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(der.data()), der.size(),
                            reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
}

void check_assertion(const KeyPair& kp, AssertionAlgorithm alg) {
    const bool pss = alg == AssertionAlgorithm::PS256;
    const std::string aud = "https://login.example/t/oauth2/v2.0/token";
    auto a = make_client_assertion(kp.cert, kp.key, "client-1", aud, alg);
    BOOST_REQUIRE_MESSAGE(a.error.empty(), a.error);
    const auto dot1 = a.jwt.find('.'), dot2 = a.jwt.rfind('.');
    BOOST_REQUIRE(dot1 != dot2);
    auto header = json_part(a.jwt.substr(0, dot1));
    auto claims = json_part(a.jwt.substr(dot1 + 1, dot2 - dot1 - 1));
    BOOST_TEST(header["alg"] == (pss ? "PS256" : "RS256"));
    BOOST_TEST(header["typ"] == "JWT");
    // PS256 goes with the SHA-256 thumbprint, RS256 with the SHA-1 one; never the other pairing.
    BOOST_TEST(header.contains("x5t#S256") == pss);
    BOOST_TEST(header.contains("x5t") == !pss);
    BOOST_TEST(header[pss ? "x5t#S256" : "x5t"] == thumbprint(kp.cert, pss ? EVP_sha256() : EVP_sha1()));
    BOOST_TEST(claims["aud"] == aud);
    BOOST_TEST(claims["iss"] == "client-1");
    BOOST_TEST(claims["sub"] == "client-1");
    BOOST_TEST(claims["exp"].get<long long>() - claims["nbf"].get<long long>() == 600);
    BOOST_TEST(claims["jti"].get<std::string>().size() == 36u);
    BOOST_TEST(verify(a.jwt, kp.cert, pss));
    BOOST_TEST(!verify(a.jwt, kp.cert, !pss));  // the padding is really the named one
    auto b = make_client_assertion(kp.cert, kp.key, "client-1", aud, alg);
    BOOST_TEST(json_part(b.jwt.substr(b.jwt.find('.') + 1, b.jwt.rfind('.') - b.jwt.find('.') - 1))["jti"] !=
               claims["jti"]);
}

}  // namespace

BOOST_AUTO_TEST_CASE(client_assertion_ps256_by_default) {
    auto kp = make_keypair("rsa", "rsa:2048");
    check_assertion(kp, AssertionAlgorithm::PS256);
    auto a = make_client_assertion(kp.cert, kp.key, "client-1", "https://login.example/t/oauth2/v2.0/token");
    BOOST_TEST(json_part(a.jwt.substr(0, a.jwt.find('.')))["alg"] == "PS256");
}

BOOST_AUTO_TEST_CASE(client_assertion_rs256_with_x5t) {
    check_assertion(make_keypair("rsa", "rsa:2048"), AssertionAlgorithm::RS256);
}

BOOST_AUTO_TEST_CASE(client_assertion_refuses_ec_keys) {
    // Entra ID accepts certificate credentials with RSA keys only.
    auto ec = make_keypair("ec", "ec -pkeyopt ec_paramgen_curve:P-256");
    auto a = make_client_assertion(ec.cert, ec.key, "c", "https://x/");
    BOOST_TEST(a.jwt.empty());
    BOOST_TEST(a.error.find("RSA") != std::string::npos, a.error);
}

BOOST_AUTO_TEST_CASE(client_assertion_errors_name_no_key_material) {
    auto a = make_client_assertion("/nonexistent.crt", "/nonexistent.key", "c", "https://x/");
    BOOST_TEST(a.jwt.empty());
    BOOST_TEST(a.error.find("/nonexistent.crt") != std::string::npos);
    auto ec = make_keypair("ec2", "ec -pkeyopt ec_paramgen_curve:P-256");
    auto rsa = make_keypair("rsa2", "rsa:2048");
    auto m = make_client_assertion(ec.cert, rsa.key, "c", "https://x/");
    BOOST_TEST(m.jwt.empty());
    BOOST_TEST(m.error.find("does not match") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(token_answer_lifetime_is_clamped_without_overflow) {
    // Found by fuzz_json_bodies: 1e20 (and 2^64, which JSON parses as unsigned) went through a
    // conversion to long long, undefined behaviour that came out as a negative lifetime.
    const std::pair<const char*, long long> cases[] = {
        {"3599", 3599},
        {"\"3599\"", 3599},
        {"1e20", 86400},
        {"99999999999999999999", 86400},
        {"18446744073709551615", 86400},
        {"-1e20", 0},
        {"-5", 0},
        {"1.9", 1},
        {"\"99999999999999999999999\"", 86400},
        {"\"-99999999999999999999\"", 0},
        {"\"abc\"", 0},
        {"null", 3600},
        {"[1]", 3600},
    };
    for (auto& [value, expected] : cases) {
        BOOST_TEST_CONTEXT("expires_in " << value) {
            auto a = ig::parse_token_answer(
                std::string(R"({"token_type":"Bearer","access_token":"eyJ.a.b","expires_in":)") + value + "}");
            BOOST_TEST(a.error.empty());
            BOOST_TEST(a.token == "eyJ.a.b");
            BOOST_TEST(a.expires_in == expected);
        }
    }
    BOOST_TEST(ig::parse_token_answer(R"({"access_token":"abc"})").expires_in == 3600);
}

BOOST_AUTO_TEST_CASE(token_answer_without_usable_token_quotes_nothing) {
    for (const char* body :
         {R"({"access_token":"eyJsecret\r\nX-Evil: 1"})", R"({"access_token":""})", R"({"access_token":42})",
          R"({"token_type":"Bearer"})", "{\"access_token\":\"eyJsecret", "[]", ""}) {
        BOOST_TEST_CONTEXT("body " << body) {
            auto a = ig::parse_token_answer(body);
            BOOST_TEST(a.token.empty());
            BOOST_TEST(a.error == "the answer has no usable access_token");
        }
    }
}
