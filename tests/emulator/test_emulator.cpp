// The Graph emulator, driven over real TLS by a tiny synchronous Beast client that verifies
// server-ca.crt: every grant and error shape, $select, 401/404/400, paging, faults, stats.
#define BOOST_TEST_MODULE emulator
#include <boost/test/unit_test.hpp>

#include "core/tls/openssl_ptr.hpp"
#include "tests/emulator/graph_emulator.hpp"
#include "tests/emulator/wire.hpp"
#include "tests/support/test_pki.hpp"

#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <thread>

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
namespace fs = std::filesystem;
using tcp = net::ip::tcp;
using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

const std::string tenant = "11111111-2222-4333-8444-555555555555";
const std::string client_id = "66666666-7777-4888-8999-000000000000";
const std::string rsa_client_id = "77777777-7777-4888-8999-000000000000";
const std::string secret = "demo-s3cret+/=&~ x";
const std::string user = "svc-intune@contoso.example";
const std::string password = "p@ss w+rd&=";
const std::string scope = "https://graph.microsoft.com/.default";
const std::string token_path = "/" + tenant + "/oauth2/v2.0/token";
const std::string compliant = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";
const std::string noncompliant = "3f2504e0-4f89-41d3-9a0c-0305e82c3302";
const std::string notfound = "3f2504e0-4f89-41d3-9a0c-0305e82c3308";
const std::string evil_links = "3f2504e0-4f89-41d3-9a0c-0305e82c33ee";
const std::string device_path = "/v1.0/deviceManagement/managedDevices/";

// The PKI and a devices file (the demo one, pointed at this PKI), made once per process.
struct test_files {
    fs::path dir, pki, devices;
    test_files() {
        dir = fs::path(IG_BINARY_DIR) / "test-emulator";
        pki = dir / "pki";
        ig::test::make_test_pki(pki);
        std::ifstream in(fs::path(IG_SOURCE_DIR) / "conf" / "emulator-devices.json");
        json doc = json::parse(in);
        doc["tenants"][tenant]["clients"][client_id]["certificate"] = (pki / "intune-app.crt").string();
        doc["devices"][evil_links] = {{"deviceName", "LINK-TEST"},
                                      {"complianceState", "compliant"},
                                      {"apps_next_link_host", "https://evil.example"},
                                      {"detectedApps", json::array({{{"displayName", "a"}, {"version", "1"}},
                                                                    {{"displayName", "b"}, {"version", "1"}},
                                                                    {{"displayName", "c"}, {"version", "1"}}})}};
        // A second app registration with an RSA certificate, for RS256 assertions.
        if (!fs::exists(dir / "rsa-app.crt")) {
            std::string rsa = "openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=rsa-app -keyout '" +
                              (dir / "rsa-app.key").string() + "' -out '" + (dir / "rsa-app.crt").string() +
                              "' 2>/dev/null";
            if (std::system(rsa.c_str()) != 0) throw std::runtime_error("openssl req failed");
        }
        doc["tenants"][tenant]["clients"][rsa_client_id] = {{"certificate", (dir / "rsa-app.crt").string()}};
        devices = dir / "devices.json";
        std::ofstream(devices) << doc.dump(2);
    }
};

const test_files& files() {
    static test_files f;
    return f;
}

ig::test::EmulatorOptions options() {
    return {files().devices, files().pki / "server.crt", files().pki / "server.key", "127.0.0.1", 0};
}

using response = http::response<http::string_body>;

// One TLS connection to the emulator, verified against server-ca.crt and the IP 127.0.0.1.
class client {
public:
    explicit client(std::uint16_t port) : ctx_(ssl::context::tls_client), stream_(ioc_, ctx_) {
        ctx_.set_verify_mode(ssl::verify_peer);
        ctx_.load_verify_file((files().pki / "server-ca.crt").string());
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(stream_.native_handle()), "127.0.0.1");
        beast::get_lowest_layer(stream_).expires_after(10s);
        beast::get_lowest_layer(stream_).connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
        stream_.handshake(ssl::stream_base::client);
        host_ = "127.0.0.1:" + std::to_string(port);
    }

    // Sends one request; ec is set when no complete response came back.
    response send(http::verb verb, std::string_view target, beast::error_code& ec, std::string body = {},
                  std::vector<std::pair<std::string, std::string>> headers = {}) {
        http::request<http::string_body> req{verb, target, 11};
        req.set(http::field::host, host_);
        for (auto& [k, v] : headers) req.set(k, v);
        if (!body.empty() || verb == http::verb::post || verb == http::verb::put) req.body() = std::move(body);
        req.prepare_payload();
        beast::get_lowest_layer(stream_).expires_after(10s);
        http::write(stream_, req, ec);
        response res;
        if (ec) return res;
        http::response_parser<http::string_body> parser;
        parser.body_limit(1 << 20);
        http::read(stream_, buffer_, parser, ec);
        if (!ec) res = parser.release();
        return res;
    }

    response send(http::verb verb, std::string_view target, std::string body = {},
                  std::vector<std::pair<std::string, std::string>> headers = {}) {
        beast::error_code ec;
        auto res = send(verb, target, ec, std::move(body), std::move(headers));
        BOOST_REQUIRE_MESSAGE(!ec, "request failed: " << ec.message());
        return res;
    }

private:
    net::io_context ioc_;
    ssl::context ctx_;
    beast::ssl_stream<beast::tcp_stream> stream_;
    beast::flat_buffer buffer_;
    std::string host_;
};

std::string form_encode(std::initializer_list<std::pair<std::string, std::string>> fields) {
    std::string out;
    for (auto& [k, v] : fields) {
        if (!out.empty()) out += '&';
        out += boost::urls::encode(k, boost::urls::unreserved_chars) + "=" +
               boost::urls::encode(v, boost::urls::unreserved_chars);
    }
    return out;
}

const std::vector<std::pair<std::string, std::string>> form_ct = {
    {"Content-Type", "application/x-www-form-urlencoded"}};

response post_token(std::uint16_t port, const std::string& body, const std::string& path = token_path) {
    return client(port).send(http::verb::post, path, body, form_ct);
}

json body_json(const response& res) {
    auto j = json::parse(res.body(), nullptr, false);
    BOOST_REQUIRE_MESSAGE(!j.is_discarded(), "body is not JSON: " << res.body());
    return j;
}

// Asserts an Entra ID error body: {"error", "error_description":"AADSTS<code>: ...", "error_codes":[code], ...}
void check_aad_error(const response& res, std::string_view error, int code) {
    BOOST_TEST(res.result_int() == 400);
    auto j = body_json(res);
    BOOST_TEST(j.value("error", "") == error);
    BOOST_TEST(j.value("error_description", "").rfind("AADSTS" + std::to_string(code) + ":", 0) == 0);
    BOOST_TEST(j["error_codes"] == json::array({code}));
    BOOST_TEST(j.contains("timestamp"));
    BOOST_TEST(ig::test::emu::is_guid(j.value("trace_id", "")));
    BOOST_TEST(ig::test::emu::is_guid(j.value("correlation_id", "")));
    BOOST_TEST(res.body().find(secret) == std::string::npos);
    BOOST_TEST(res.body().find("demo-s3cret") == std::string::npos);
}

std::string secret_form(const std::string& s = secret, const std::string& sc = scope) {
    return form_encode(
        {{"grant_type", "client_credentials"}, {"client_id", client_id}, {"client_secret", s}, {"scope", sc}});
}

std::string get_token(std::uint16_t port) {
    auto res = post_token(port, secret_form());
    BOOST_REQUIRE_EQUAL(res.result_int(), 200);
    return body_json(res).at("access_token").get<std::string>();
}

std::vector<std::pair<std::string, std::string>> bearer(const std::string& token) {
    return {{"Authorization", "Bearer " + token}};
}

// JWS signature over header.payload with key_file: RS256 as is, PS256 with PSS padding; ES256 as
// the raw r||s JOSE wants (OpenSSL makes DER).
std::string sign_jws(const std::string& header_b64_payload_b64, const fs::path& key_file, const std::string& alg) {
    ig::BioPtr f(BIO_new_file(key_file.c_str(), "rb"));
    BOOST_REQUIRE(f);
    ig::EvpPkeyPtr key(PEM_read_bio_PrivateKey(f.get(), nullptr, nullptr, nullptr));
    BOOST_REQUIRE(key);
    ig::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
    EVP_PKEY_CTX* pctx = nullptr;
    BOOST_REQUIRE(EVP_DigestSignInit(ctx.get(), &pctx, EVP_sha256(), nullptr, key.get()) == 1);
    if (alg == "PS256") {
        BOOST_REQUIRE(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1);
        BOOST_REQUIRE(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1);
    }
    std::size_t len = 0;
    const auto* in = reinterpret_cast<const unsigned char*>(header_b64_payload_b64.data());
    BOOST_REQUIRE(EVP_DigestSign(ctx.get(), nullptr, &len, in, header_b64_payload_b64.size()) == 1);
    std::vector<unsigned char> der(len);
    BOOST_REQUIRE(EVP_DigestSign(ctx.get(), der.data(), &len, in, header_b64_payload_b64.size()) == 1);
    der.resize(len);
    if (EVP_PKEY_get_base_id(key.get()) == EVP_PKEY_RSA)
        return ig::test::emu::base64url_encode(std::string_view(reinterpret_cast<char*>(der.data()), der.size()));
    const unsigned char* p = der.data();
    std::unique_ptr<ECDSA_SIG, ig::OpenSslFree<ECDSA_SIG_free>> sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(len)));
    BOOST_REQUIRE(sig);
    unsigned char raw[64];
    BOOST_REQUIRE(BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), raw, 32) == 32);
    BOOST_REQUIRE(BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), raw + 32, 32) == 32);
    return ig::test::emu::base64url_encode(std::string_view(reinterpret_cast<char*>(raw), 64));
}

std::string cert_sha256(const fs::path& cert_file, const EVP_MD* md_type = EVP_sha256()) {
    ig::BioPtr f(BIO_new_file(cert_file.c_str(), "rb"));
    BOOST_REQUIRE(f);
    ig::X509Ptr cert(PEM_read_bio_X509(f.get(), nullptr, nullptr, nullptr));
    BOOST_REQUIRE(cert);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    BOOST_REQUIRE(X509_digest(cert.get(), md_type, md, &n) == 1);
    return ig::test::emu::base64url_encode(std::string_view(reinterpret_cast<char*>(md), n));
}

struct assertion_opts {
    std::optional<std::string> aud;
    long exp_offset = 300, nbf_offset = -10;
    std::string iss = client_id;
    std::string alg = "PS256";
    fs::path key = files().pki / "intune-app.key";
    fs::path cert = files().pki / "intune-app.crt";
    std::optional<std::string> x5t;
    bool sha1_x5t = false;  // "x5t" (SHA-1 thumbprint) instead of "x5t#S256"
    bool tamper = false;
};

std::string make_assertion(const ig::test::GraphEmulator& emu, const assertion_opts& o) {
    const long now = static_cast<long>(
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count());
    json header = {{"alg", o.alg}, {"typ", "JWT"}};
    if (o.sha1_x5t)
        header["x5t"] = o.x5t.value_or(cert_sha256(o.cert, EVP_sha1()));
    else
        header["x5t#S256"] = o.x5t.value_or(cert_sha256(o.cert));
    json payload = {{"aud", o.aud.value_or(emu.origin() + token_path)},
                    {"iss", o.iss},
                    {"sub", o.iss},
                    {"jti", ig::test::emu::new_uuid()},
                    {"nbf", now + o.nbf_offset},
                    {"iat", now + o.nbf_offset},
                    {"exp", now + o.exp_offset}};
    using ig::test::emu::base64url_encode;
    auto input = base64url_encode(header.dump()) + "." + base64url_encode(payload.dump());
    auto sig = sign_jws(input, o.key, o.alg);
    if (o.tamper) {
        payload["sub"] = payload["iss"] = "00000000-0000-4000-8000-000000000000";
        input = base64url_encode(header.dump()) + "." + base64url_encode(payload.dump());
    }
    return input + "." + sig;
}

std::string assertion_form(const std::string& assertion, const std::string& id = client_id) {
    return form_encode({{"grant_type", "client_credentials"},
                        {"client_id", id},
                        {"scope", scope},
                        {"client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
                        {"client_assertion", assertion}});
}

struct emu_fixture {
    ig::test::GraphEmulator emu{options()};
    std::uint16_t port = emu.port();
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(token_endpoint, emu_fixture)

BOOST_AUTO_TEST_CASE(client_secret_grant_decodes_the_form) {
    BOOST_TEST(emu.origin() == "https://127.0.0.1:" + std::to_string(port));
    auto res = post_token(port, secret_form());
    BOOST_TEST(res.result_int() == 200);
    BOOST_TEST(res[http::field::content_type].starts_with("application/json"));
    auto j = body_json(res);
    BOOST_TEST(j.value("token_type", "") == "Bearer");
    BOOST_TEST(j.value("expires_in", 0) == 3600);
    BOOST_TEST(j.value("ext_expires_in", 0) == 3600);
    BOOST_TEST(j.value("access_token", "").size() > 20);
    // Two tokens are never the same.
    BOOST_TEST(body_json(post_token(port, secret_form())).value("access_token", "") != j.value("access_token", ""));
    // '+' in a form means space: the secret sent with its '+' raw is a different secret.
    std::string raw_plus =
        "grant_type=client_credentials&client_id=" + client_id +
        "&client_secret=demo-s3cret+/%3D%26~%20x&scope=" + boost::urls::encode(scope, boost::urls::unreserved_chars);
    check_aad_error(post_token(port, raw_plus), "invalid_client", 7000215);
    // ...and spaces as '+' are accepted.
    std::string plus_space =
        "grant_type=client_credentials&client_id=" + client_id +
        "&client_secret=demo-s3cret%2B%2F%3D%26~+x&scope=https%3A%2F%2Fgraph.microsoft.com%2F.default";
    BOOST_TEST(post_token(port, plus_space).result_int() == 200);
    auto s = emu.stats();
    BOOST_TEST(s["token_requests"] == 4);
    BOOST_TEST(s["by_grant"]["client_credentials"] == 4);
    BOOST_TEST(s["by_grant"]["password"] == 0);
}

BOOST_AUTO_TEST_CASE(client_secret_errors) {
    check_aad_error(post_token(port, secret_form("wrong")), "invalid_client", 7000215);
    check_aad_error(
        post_token(port,
                   form_encode({{"grant_type", "client_credentials"}, {"client_id", client_id}, {"scope", scope}})),
        "invalid_client", 7000218);
    check_aad_error(post_token(port, form_encode({{"grant_type", "client_credentials"},
                                                  {"client_id", "99999999-7777-4888-8999-000000000000"},
                                                  {"client_secret", secret},
                                                  {"scope", scope}})),
                    "unauthorized_client", 700016);
    check_aad_error(post_token(port, secret_form(), "/99999999-2222-4333-8444-555555555555/oauth2/v2.0/token"),
                    "invalid_request", 90002);
    check_aad_error(post_token(port, secret_form(secret, "https://graph.microsoft.com/User.Read")), "invalid_scope",
                    70011);
    check_aad_error(post_token(port, secret_form(secret, "")), "invalid_request", 900144);
    check_aad_error(post_token(port, form_encode({{"grant_type", "authorization_code"}, {"client_id", client_id}})),
                    "unsupported_grant_type", 70003);
    // Not a form at all, or broken percent-encoding: still a clean 400.
    BOOST_TEST(client(port)
                   .send(http::verb::post, token_path, "{\"grant_type\":1}", {{"Content-Type", "application/json"}})
                   .result_int() == 400);
    BOOST_TEST(post_token(port, "grant_type=%zz&client_id=%").result_int() == 400);
    BOOST_TEST(emu.stats()["token_requests"] == 9);
    BOOST_TEST(emu.stats()["connections"] == 9);
}

BOOST_AUTO_TEST_CASE(client_secret_basic) {
    auto basic = [](const std::string& id, const std::string& sec) {
        auto raw = boost::urls::encode(id, boost::urls::unreserved_chars) + ":" +
                   boost::urls::encode(sec, boost::urls::unreserved_chars);
        std::string out(4 * ((raw.size() + 2) / 3) + 1, '\0');
        out.resize(static_cast<std::size_t>(EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                                            reinterpret_cast<const unsigned char*>(raw.data()),
                                                            static_cast<int>(raw.size()))));
        return std::vector<std::pair<std::string, std::string>>{{"Content-Type", "application/x-www-form-urlencoded"},
                                                                {"Authorization", "Basic " + out}};
    };
    auto form = form_encode({{"grant_type", "client_credentials"}, {"scope", scope}});
    auto res = client(port).send(http::verb::post, token_path, form, basic(client_id, secret));
    BOOST_TEST(res.result_int() == 200, res.body());
    check_aad_error(client(port).send(http::verb::post, token_path, form, basic(client_id, "nope")), "invalid_client",
                    7000215);
    check_aad_error(
        client(port).send(http::verb::post, token_path, form,
                          {{"Content-Type", "application/x-www-form-urlencoded"}, {"Authorization", "Basic !!!"}}),
        "invalid_client", 7000215);
}

BOOST_AUTO_TEST_CASE(password_grant) {
    auto good = form_encode({{"grant_type", "password"},
                             {"client_id", client_id},
                             {"client_secret", secret},
                             {"scope", scope},
                             {"username", user},
                             {"password", password}});
    auto res = post_token(port, good);
    BOOST_TEST(res.result_int() == 200);
    BOOST_TEST(body_json(res).value("token_type", "") == "Bearer");
    auto bad = form_encode({{"grant_type", "password"},
                            {"client_id", client_id},
                            {"client_secret", secret},
                            {"scope", scope},
                            {"username", user},
                            {"password", "p@ss w+rd&"}});
    check_aad_error(post_token(port, bad), "invalid_grant", 50126);
    auto other_user = form_encode({{"grant_type", "password"},
                                   {"client_id", client_id},
                                   {"client_secret", secret},
                                   {"scope", scope},
                                   {"username", "mallory@contoso.example"},
                                   {"password", password}});
    check_aad_error(post_token(port, other_user), "invalid_grant", 50126);
    auto bad_secret = form_encode({{"grant_type", "password"},
                                   {"client_id", client_id},
                                   {"client_secret", "x"},
                                   {"scope", scope},
                                   {"username", user},
                                   {"password", password}});
    check_aad_error(post_token(port, bad_secret), "invalid_client", 7000215);
    BOOST_TEST(emu.stats()["by_grant"]["password"] == 4);
}

BOOST_AUTO_TEST_CASE(certificate_grant) {
    auto res = post_token(port, assertion_form(make_assertion(emu, {})));
    BOOST_TEST(res.result_int() == 200, res.body());
    BOOST_TEST(body_json(res).value("token_type", "") == "Bearer");
    // aud compared by path when the origin differs (e.g. "localhost" instead of the IP).
    assertion_opts localhost;
    localhost.aud = "https://localhost:" + std::to_string(port) + token_path;
    BOOST_TEST(post_token(port, assertion_form(make_assertion(emu, localhost))).result_int() == 200);

    auto rejected = [&](assertion_opts o) {
        check_aad_error(post_token(port, assertion_form(make_assertion(emu, o))), "invalid_client", 700027);
    };
    assertion_opts o;
    o.exp_offset = -5;
    rejected(o);
    o = {};
    o.nbf_offset = 600;
    rejected(o);
    o = {};
    o.aud = emu.origin() + "/" + tenant + "/oauth2/token";
    rejected(o);
    o = {};
    o.key = files().dir / "rsa-app.key";  // an RSA key that is not the registered certificate's
    rejected(o);
    o = {};
    o.x5t = cert_sha256(files().pki / "server-ca.crt");
    rejected(o);
    o = {};
    o.tamper = true;  // payload changed after signing (and iss/sub no longer the client)
    auto tampered = make_assertion(emu, o);
    check_aad_error(post_token(port, assertion_form(tampered)), "invalid_client", 700027);
    check_aad_error(post_token(port, assertion_form("not.a.jwt")), "invalid_client", 700027);
    check_aad_error(post_token(port, assertion_form("garbage")), "invalid_client", 700027);
    // A secret for a client that only has a certificate.
    check_aad_error(post_token(port, form_encode({{"grant_type", "client_credentials"},
                                                  {"client_id", rsa_client_id},
                                                  {"client_secret", "guess"},
                                                  {"scope", scope}})),
                    "invalid_client", 7000215);
}

BOOST_AUTO_TEST_CASE(certificate_grant_rs256) {
    assertion_opts o;
    o.iss = rsa_client_id;
    o.alg = "RS256";
    o.key = files().dir / "rsa-app.key";
    o.cert = files().dir / "rsa-app.crt";
    auto res = post_token(port, assertion_form(make_assertion(emu, o), rsa_client_id));
    BOOST_TEST(res.result_int() == 200, res.body());
    // No client_id in the form: the client is taken from iss.
    auto no_id = form_encode({{"grant_type", "client_credentials"},
                              {"scope", scope},
                              {"client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"},
                              {"client_assertion", make_assertion(emu, o)}});
    BOOST_TEST(post_token(port, no_id).result_int() == 200);
    // Older MSAL's pairing: RS256 with x5t, the SHA-1 thumbprint.
    assertion_opts sha1 = o;
    sha1.sha1_x5t = true;
    BOOST_TEST(post_token(port, assertion_form(make_assertion(emu, sha1), rsa_client_id)).result_int() == 200);
    // Another app's key cannot sign for this one, and alg must fit the padding used.
    assertion_opts other = o;
    other.iss = client_id;  // signed with rsa-app's key, presented for the intune-app registration
    check_aad_error(post_token(port, assertion_form(make_assertion(emu, other))), "invalid_client", 700027);
    assertion_opts mislabeled = o;
    mislabeled.alg = "PS256";
    auto ps = make_assertion(emu, mislabeled);
    auto parts_rs = make_assertion(emu, o);
    // header says PS256, signature is PKCS#1 v1.5 (RS256's): refused.
    auto forged = ps.substr(0, ps.rfind('.')) + parts_rs.substr(parts_rs.rfind('.'));
    check_aad_error(post_token(port, assertion_form(forged, rsa_client_id)), "invalid_client", 700027);
}

BOOST_AUTO_TEST_CASE(es256_assertion_refused_as_entra_id_refuses_it) {
    // Entra ID takes RSA certificate credentials only; an ES256 JWT gets AADSTS5002738.
    const fs::path dir = files().dir;
    if (!fs::exists(dir / "ec-app.crt")) {
        std::string cmd =
            "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 -subj /CN=ec-app -keyout '" +
            (dir / "ec-app.key").string() + "' -out '" + (dir / "ec-app.crt").string() + "' 2>/dev/null";
        BOOST_REQUIRE(std::system(cmd.c_str()) == 0);
    }
    assertion_opts o;
    o.alg = "ES256";
    o.key = dir / "ec-app.key";
    o.cert = dir / "ec-app.crt";
    auto res = post_token(port, assertion_form(make_assertion(emu, o)));
    check_aad_error(res, "invalid_request", 5002738);
    BOOST_TEST(body_json(res).value("error_description", "").find("'ES256' is not a supported signature algorithm") !=
               std::string::npos);
}

BOOST_AUTO_TEST_CASE(older_crlf_error_description_form) {
    // A second emulator whose Entra ID writes the older CR LF separated error_description.
    json doc = json::parse(std::ifstream(files().devices));
    doc["aad_error_description"] = "crlf";
    const auto file = files().dir / "devices-crlf.json";
    std::ofstream(file) << doc.dump();
    ig::test::GraphEmulator crlf_emu({file, files().pki / "server.crt", files().pki / "server.key", "127.0.0.1", 0});
    auto res = post_token(crlf_emu.port(), secret_form("wrong"));
    check_aad_error(res, "invalid_client", 7000215);
    auto d = body_json(res).value("error_description", "");
    BOOST_TEST(d.find("\r\nTrace ID: ") != std::string::npos, d);
    BOOST_TEST(d.find("\r\nCorrelation ID: ") != std::string::npos, d);
    BOOST_TEST(d.find("\r\nTimestamp: ") != std::string::npos, d);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(graph, emu_fixture)

BOOST_AUTO_TEST_CASE(device_with_and_without_select) {
    auto token = get_token(port);
    client c(port);
    auto res = c.send(http::verb::get, device_path + compliant, {}, bearer(token));
    BOOST_TEST(res.result_int() == 200);
    BOOST_TEST(res.chunked());
    BOOST_TEST(ig::test::emu::is_guid(res["request-id"]));
    auto j = body_json(res);
    BOOST_TEST(j.value("complianceState", "") == "compliant");
    BOOST_TEST(j.value("deviceName", "") == "LAPTOP-COMPLIANT01");
    BOOST_TEST(j.value("id", "") == compliant);
    BOOST_TEST(j.value("@odata.context", "").ends_with("#deviceManagement/managedDevices/$entity"));
    BOOST_TEST(!j.contains("detectedApps"));
    BOOST_TEST(!j.contains("fault"));

    // Same connection (keep-alive), upper-case id, lower-case segment, encoded $select.
    std::string upper = "3F2504E0-4F89-41D3-9A0C-0305E82C3301";
    res = c.send(http::verb::get,
                 "/v1.0/deviceManagement/manageddevices/" + upper + "?%24select=complianceState%2C%20deviceName", {},
                 bearer(token));
    BOOST_TEST(res.result_int() == 200);
    j = body_json(res);
    BOOST_TEST(j.size() == 4u, j.dump());
    BOOST_TEST(j.value("complianceState", "") == "compliant");
    BOOST_TEST(j.value("deviceName", "") == "LAPTOP-COMPLIANT01");
    BOOST_TEST(j.value("id", "") == compliant);
    BOOST_TEST(j.value("@odata.context", "").find("managedDevices(complianceState,deviceName)/$entity") !=
               std::string::npos);

    // The client's client-request-id is echoed.
    std::string crid = "0a0b0c0d-1111-4222-8333-444455556666";
    res = c.send(http::verb::get, device_path + noncompliant + "?$select=complianceState", {},
                 {{"Authorization", "Bearer " + token}, {"client-request-id", crid}});
    BOOST_TEST(res["client-request-id"] == crid);
    BOOST_TEST(body_json(res).value("complianceState", "") == "noncompliant");

    auto s = emu.stats();
    BOOST_TEST(s["connections"] == 2);  // the token's, then one kept alive for three requests
    BOOST_TEST(s["graph_requests"] == 3);
    BOOST_TEST(s["device_requests"][compliant] == 2);
    BOOST_TEST(s["device_requests"][noncompliant] == 1);
    emu.reset_stats();
    s = emu.stats();
    BOOST_TEST(s["graph_requests"] == 0);
    BOOST_TEST(s["device_requests"].empty());
    BOOST_TEST(s["token_requests"] == 0);
}

BOOST_AUTO_TEST_CASE(errors_401_400_404) {
    auto token = get_token(port);
    client c(port);
    auto expect_odata = [&](const response& res, int status, std::string_view code) {
        BOOST_TEST(res.result_int() == status);
        auto j = body_json(res);
        BOOST_TEST(j["error"].value("code", "") == code);
        BOOST_TEST(!j["error"].value("message", "").empty());
        BOOST_TEST(ig::test::emu::is_guid(j["error"]["innerError"].value("request-id", "")));
        BOOST_TEST(ig::test::emu::is_guid(j["error"]["innerError"].value("client-request-id", "")));
        BOOST_TEST(j["error"]["innerError"].contains("date"));
    };
    expect_odata(c.send(http::verb::get, device_path + compliant), 401, "InvalidAuthenticationToken");
    auto res = c.send(http::verb::get, device_path + compliant, {}, bearer("forged"));
    expect_odata(res, 401, "InvalidAuthenticationToken");
    BOOST_TEST(body_json(res)["error"].value("message", "") == "Access token has expired or is not yet valid.");
    BOOST_TEST(res.body().find("forged") == std::string::npos);
    expect_odata(c.send(http::verb::get, device_path + "not-a-guid", {}, bearer(token)), 400, "BadRequest");
    expect_odata(c.send(http::verb::get, device_path + notfound, {}, bearer(token)), 404, "ResourceNotFound");
    // Intune's 404: the message is a JSON document (tests/fixtures/graph/intune-not-found-404.json).
    auto inner = json::parse(
        body_json(c.send(http::verb::get, device_path + notfound, {}, bearer(token)))["error"].value("message", ""),
        nullptr, false);
    BOOST_TEST(inner.value("_version", 0) == 3);
    BOOST_TEST(inner.value("Message", "").rfind("An error has occurred - Operation ID (for customer support)", 0) == 0);
    // $select of a property v1.0 does not have is a 400, as Graph answers it.
    res = c.send(http::verb::get, device_path + compliant + "?$select=complianceState,ownerType", {}, bearer(token));
    expect_odata(res, 400, "BadRequest");
    BOOST_TEST(body_json(res)["error"].value("message", "") ==
               "Parsing OData Select and Expand failed: Could not find a property named 'ownerType' on type "
               "'microsoft.graph.managedDevice'.");
    // beta has it.
    BOOST_TEST(c.send(http::verb::get, "/beta/deviceManagement/managedDevices/" + compliant + "?$select=ownerType", {},
                      bearer(token))
                   .result_int() == 200);
    // Still usable after all that.
    BOOST_TEST(c.send(http::verb::get, device_path + compliant, {}, bearer(token)).result_int() == 200);

    emu.revoke_tokens();
    expect_odata(c.send(http::verb::get, device_path + compliant, {}, bearer(token)), 401,
                 "InvalidAuthenticationToken");
    auto fresh = get_token(port);
    BOOST_TEST(c.send(http::verb::get, device_path + compliant, {}, bearer(fresh)).result_int() == 200);
}

BOOST_AUTO_TEST_CASE(tokens_expire) {
    emu.set_token_lifetime(1);
    auto res = post_token(port, secret_form());
    BOOST_TEST(body_json(res).value("expires_in", 0) == 1);
    auto token = body_json(res).value("access_token", "");
    client c(port);
    BOOST_TEST(c.send(http::verb::get, device_path + compliant, {}, bearer(token)).result_int() == 200);
    std::this_thread::sleep_for(1200ms);
    BOOST_TEST(c.send(http::verb::get, device_path + compliant, {}, bearer(token)).result_int() == 401);
}

BOOST_AUTO_TEST_CASE(detected_apps_paging) {
    auto token = get_token(port);
    client c(port);
    std::vector<std::string> names;
    std::string target = "/beta/deviceManagement/managedDevices/" + compliant + "/detectedApps";
    int pages = 0;
    while (!target.empty() && pages < 10) {
        auto res = c.send(http::verb::get, target, {}, bearer(token));
        BOOST_REQUIRE_EQUAL(res.result_int(), 200);
        BOOST_TEST(res.chunked());
        auto j = body_json(res);
        ++pages;
        BOOST_TEST(j["value"].size() <= 2u);
        for (auto& a : j["value"]) {
            names.push_back(a.value("displayName", ""));
            BOOST_TEST(a.contains("version"));
            BOOST_TEST(a.contains("publisher"));
            BOOST_TEST(a.value("deviceCount", 0) == 1);
            BOOST_TEST(a.value("platform", "") == "windows");
            BOOST_TEST(!a.value("id", "").empty());
        }
        target.clear();
        if (j.contains("@odata.nextLink")) {
            auto link = j.value("@odata.nextLink", "");
            BOOST_REQUIRE(link.starts_with(emu.origin() + "/beta/deviceManagement/managedDevices/"));
            target = link.substr(emu.origin().size());
        }
    }
    BOOST_TEST(pages == 2);
    std::vector<std::string> expected = {"Microsoft Edge", "Microsoft 365 Apps for enterprise - en-us",
                                         "7-Zip 24.08 (x64)", "Google Chrome"};
    BOOST_TEST(names == expected, boost::test_tools::per_element());
    BOOST_TEST(emu.stats()["app_requests"] == 2);

    // A device configured to point its first nextLink at another origin.
    auto res = c.send(http::verb::get, "/beta/deviceManagement/managedDevices/" + evil_links + "/detectedApps", {},
                      bearer(token));
    BOOST_TEST(body_json(res).value("@odata.nextLink", "").starts_with("https://evil.example/beta/"));
    // A forged skiptoken is a 400, unknown device a 404, no token a 401.
    BOOST_TEST(c.send(http::verb::get,
                      "/beta/deviceManagement/managedDevices/" + compliant + "/detectedApps?$skiptoken=zzz", {},
                      bearer(token))
                   .result_int() == 400);
    BOOST_TEST(c.send(http::verb::get, "/beta/deviceManagement/managedDevices/" + notfound + "/detectedApps", {},
                      bearer(token))
                   .result_int() == 404);
    BOOST_TEST(
        c.send(http::verb::get, "/beta/deviceManagement/managedDevices/" + compliant + "/detectedApps").result_int() ==
        401);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(faults, emu_fixture)

BOOST_AUTO_TEST_CASE(status_faults_with_times) {
    auto token = get_token(port);
    client c(port);
    emu.set_fault("*", {{"status", 429}, {"retry_after", 3}, {"times", 1}});
    auto res = c.send(http::verb::get, device_path + compliant, {}, bearer(token));
    BOOST_TEST(res.result_int() == 429);
    BOOST_TEST(res[http::field::retry_after] == "3");
    BOOST_TEST(body_json(res)["error"].value("code", "") == "TooManyRequests");
    BOOST_TEST(c.send(http::verb::get, device_path + compliant, {}, bearer(token)).result_int() == 200);
    // Graph's documented forms: fractional delta-seconds and an HTTP-date.
    emu.set_fault("*", {{"status", 429}, {"retry_after", 2.128}, {"times", 1}});
    res = c.send(http::verb::get, device_path + compliant, {}, bearer(token));
    BOOST_TEST(res[http::field::retry_after] == "2.128");
    BOOST_TEST(body_json(res)["error"]["innerError"].value("code", "") == "429");  // the throttling sample's shape
    emu.set_fault("*", {{"status", 503}, {"retry_after_date", 30}, {"times", 1}});
    res = c.send(http::verb::get, device_path + compliant, {}, bearer(token));
    BOOST_TEST(std::string(res[http::field::retry_after]).ends_with(" GMT"), res[http::field::retry_after]);
    // Intune's permission-denied answer: 401 UnknownError with ErrorCode Forbidden inside the message.
    emu.set_fault("*", {{"status", 401}, {"body", "intune_forbidden"}, {"times", 1}});
    res = c.send(http::verb::get, device_path + compliant, {}, bearer(token));
    BOOST_TEST(res.result_int() == 401);
    auto err = body_json(res)["error"];
    BOOST_TEST(err.value("code", "") == "UnknownError");
    BOOST_TEST(json::parse(err.value("message", "")).value("ErrorCode", "") == "Forbidden");
    BOOST_CHECK_THROW(emu.set_fault("*", {{"body", "made-up"}}), std::exception);

    for (int status : {500, 502, 503, 504}) {
        emu.set_fault(compliant, {{"status", status}, {"times", 2}});
        for (int i = 0; i < 2; ++i) {
            res = c.send(http::verb::get, device_path + compliant, {}, bearer(token));
            BOOST_TEST(res.result_int() == status);
            BOOST_TEST(body_json(res)["error"].contains("code"));
        }
        // Other devices are unaffected by a per-device fault.
        emu.set_fault(compliant, {{"status", status}});
        BOOST_TEST(c.send(http::verb::get, device_path + noncompliant, {}, bearer(token)).result_int() == 200);
        BOOST_TEST(c.send(http::verb::get, device_path + compliant, {}, bearer(token)).result_int() == status);
        emu.clear_faults();
        BOOST_TEST(c.send(http::verb::get, device_path + compliant, {}, bearer(token)).result_int() == 200);
    }
    BOOST_CHECK_THROW(emu.set_fault("*", json::array()), std::exception);
}

BOOST_AUTO_TEST_CASE(body_faults) {
    auto token = get_token(port);
    client c(port);
    emu.set_fault(compliant, {{"non_json", true}, {"times", 1}});
    auto res = c.send(http::verb::get, device_path + compliant, {}, bearer(token));
    BOOST_TEST(res.result_int() == 200);
    BOOST_TEST(json::parse(res.body(), nullptr, false).is_discarded());
    emu.set_fault(compliant, {{"no_state", true}, {"times", 2}});
    res = c.send(http::verb::get, device_path + compliant + "?$select=complianceState,deviceName", {}, bearer(token));
    BOOST_TEST(res.result_int() == 200);
    BOOST_TEST(!body_json(res).contains("complianceState"));
    BOOST_TEST(body_json(res).value("deviceName", "") == "LAPTOP-COMPLIANT01");
    res = c.send(http::verb::get, device_path + compliant, {}, bearer(token));
    BOOST_TEST(!body_json(res).contains("complianceState"));
    BOOST_TEST(
        body_json(c.send(http::verb::get, device_path + compliant, {}, bearer(token))).contains("complianceState"));
}

BOOST_AUTO_TEST_CASE(latency_and_drop) {
    auto token = get_token(port);
    emu.set_fault(compliant, {{"latency_ms", 300}, {"times", 1}});
    client c(port);
    auto t0 = std::chrono::steady_clock::now();
    BOOST_TEST(c.send(http::verb::get, device_path + compliant, {}, bearer(token)).result_int() == 200);
    BOOST_TEST((std::chrono::steady_clock::now() - t0 >= 300ms));

    emu.set_fault("*", {{"drop", true}, {"times", 1}});
    beast::error_code ec;
    c.send(http::verb::get, device_path + compliant, ec, {}, bearer(token));
    BOOST_TEST(ec.failed());
    // A new connection works again.
    BOOST_TEST(client(port).send(http::verb::get, device_path + compliant, {}, bearer(token)).result_int() == 200);
}

BOOST_AUTO_TEST_CASE(devices_set_at_runtime_and_file_faults) {
    auto token = get_token(port);
    client c(port);
    std::string id = "3f2504e0-4f89-41d3-9a0c-0305e82c3399";
    BOOST_TEST(c.send(http::verb::get, device_path + id, {}, bearer(token)).result_int() == 404);
    emu.set_device(id, {{"deviceName", "NEW"}, {"complianceState", "inGracePeriod"}});
    auto res = c.send(http::verb::get, device_path + id, {}, bearer(token));
    BOOST_TEST(body_json(res).value("complianceState", "") == "inGracePeriod");
    BOOST_TEST(body_json(res).value("id", "") == id);
    emu.set_device(
        id, {{"deviceName", "NEW"}, {"complianceState", "compliant"}, {"fault", {{"status", 503}, {"times", 1}}}});
    BOOST_TEST(c.send(http::verb::get, device_path + id, {}, bearer(token)).result_int() == 503);
    BOOST_TEST(body_json(c.send(http::verb::get, device_path + id, {}, bearer(token))).value("complianceState", "") ==
               "compliant");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_FIXTURE_TEST_SUITE(server, emu_fixture)

BOOST_AUTO_TEST_CASE(control_endpoints) {
    client c(port);
    auto res = c.send(http::verb::post, "/_emulator/fault/" + compliant, R"({"status":503,"times":1})");
    BOOST_TEST(res.result_int() == 200);
    BOOST_TEST(c.send(http::verb::post, "/_emulator/fault/*", "{not json").result_int() == 400);
    auto token = get_token(port);
    BOOST_TEST(c.send(http::verb::get, device_path + compliant, {}, bearer(token)).result_int() == 503);
    BOOST_TEST(
        c.send(http::verb::put, "/_emulator/devices/" + notfound, R"({"complianceState":"conflict"})").result_int() ==
        200);
    BOOST_TEST(
        body_json(c.send(http::verb::get, device_path + notfound, {}, bearer(token))).value("complianceState", "") ==
        "conflict");
    auto stats = body_json(c.send(http::verb::get, "/_emulator/stats"));
    BOOST_TEST(stats["token_requests"] == 1);
    BOOST_TEST(stats["device_requests"][compliant] == 1);
    BOOST_TEST(c.send(http::verb::post, "/_emulator/reset").result_int() == 200);
    BOOST_TEST(body_json(c.send(http::verb::get, "/_emulator/stats"))["graph_requests"] == 0);
    emu.set_fault("*", {{"status", 500}});
    BOOST_TEST(c.send(http::verb::delete_, "/_emulator/fault").result_int() == 200);
    BOOST_TEST(c.send(http::verb::get, device_path + compliant, {}, bearer(token)).result_int() == 200);
    BOOST_TEST(c.send(http::verb::post, "/_emulator/revoke").result_int() == 200);
    BOOST_TEST(c.send(http::verb::get, device_path + compliant, {}, bearer(token)).result_int() == 401);
    BOOST_TEST(c.send(http::verb::get, "/_emulator/nope").result_int() == 404);
}

// The soak (bench/soak.sh) flips many devices at once and watches the gateway's Graph connections.
BOOST_AUTO_TEST_CASE(bulk_devices_and_open_connections) {
    const std::string a = "3f2504e0-4f89-41d3-9a0c-0305e82c33a1", b = "3F2504E0-4F89-41D3-9A0C-0305E82C33B2";
    auto token = get_token(port);
    {
        client c(port);
        auto res = c.send(http::verb::post, "/_emulator/devices",
                          json{{a, {{"complianceState", "noncompliant"}}}, {b, {{"complianceState", "inGracePeriod"}}}}.dump());
        BOOST_TEST(res.result_int() == 200);
        BOOST_TEST(body_json(res)["set"] == 2);
        BOOST_TEST(body_json(c.send(http::verb::get, device_path + a, {}, bearer(token))).value("complianceState", "") ==
                   "noncompliant");
        BOOST_TEST(body_json(c.send(http::verb::get, device_path + "3f2504e0-4f89-41d3-9a0c-0305e82c33b2", {}, bearer(token)))
                       .value("complianceState", "") == "inGracePeriod");
        // One bad entry (not an object, or a bad fault) sets nothing.
        BOOST_TEST(c.send(http::verb::post, "/_emulator/devices",
                          json{{a, {{"complianceState", "compliant"}}}, {b, "compliant"}}.dump())
                       .result_int() == 400);
        BOOST_TEST(c.send(http::verb::post, "/_emulator/devices",
                          json{{a, {{"complianceState", "compliant"}}}, {b, {{"fault", {{"status", 7}}}}}}.dump())
                       .result_int() == 400);
        BOOST_TEST(c.send(http::verb::post, "/_emulator/devices", "[1]").result_int() == 400);
        BOOST_TEST(body_json(c.send(http::verb::get, device_path + a, {}, bearer(token))).value("complianceState", "") ==
                   "noncompliant");
        // This connection and the token's (closed by now, or soon) were opened; this one is still open.
        for (int i = 0; i < 100 && emu.stats()["open_connections"] != 1; ++i) std::this_thread::sleep_for(20ms);
        BOOST_TEST(emu.stats()["open_connections"] == 1);
        emu.reset_stats();
        BOOST_TEST(emu.stats()["open_connections"] == 1);
        client d(port);
        BOOST_TEST(d.send(http::verb::get, "/_emulator/stats").result_int() == 200);
        BOOST_TEST(emu.stats()["open_connections"] == 2);
    }
    // Both clients gone: the emulator sees the connections end (shortly after the close).
    for (int i = 0; i < 100 && emu.stats()["open_connections"] != 0; ++i) std::this_thread::sleep_for(20ms);
    BOOST_TEST(emu.stats()["open_connections"] == 0);
}

BOOST_AUTO_TEST_CASE(hostile_requests_do_not_break_it) {
    {
        client c(port);
        beast::error_code ec;
        auto res = c.send(http::verb::get, "/v1.0/x", ec, {}, {{"X-Big", std::string(20 * 1024, 'a')}});
        BOOST_TEST(!ec.failed());
        BOOST_TEST(res.result_int() == 431);
        BOOST_TEST(!res.keep_alive());
    }
    {  // a malformed request line
        client c(port);
        beast::error_code ec;
        auto res = c.send(http::verb::get, "/has space", ec);
        BOOST_TEST(!ec.failed());
        BOOST_TEST(res.result_int() == 400);
    }
    {  // plain text on the TLS port
        net::io_context ioc;
        tcp::socket s(ioc);
        s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
        net::write(s, net::buffer(std::string("GET / HTTP/1.1\r\n\r\n")));
    }
    client c(port);
    BOOST_TEST(
        c.send(http::verb::get, "/v1.0/deviceManagement/managedDevices/" + compliant + "/../../x").result_int() >= 400);
    BOOST_TEST(c.send(http::verb::get, "/nowhere").result_int() == 404);
    BOOST_TEST(post_token(port, secret_form()).result_int() == 200);
}

BOOST_AUTO_TEST_CASE(concurrent_clients_are_counted) {
    auto token = get_token(port);
    std::atomic<int> ok{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] {
            client c(port);
            for (int i = 0; i < 10; ++i) {
                beast::error_code ec;
                auto res = c.send(http::verb::get, device_path + compliant, ec, {}, bearer(token));
                if (!ec && res.result_int() == 200) ++ok;
            }
        });
    for (auto& t : threads) t.join();
    BOOST_TEST(ok == 40);
    BOOST_TEST(emu.stats()["device_requests"][compliant] == 40);
    BOOST_TEST(emu.stats()["graph_requests"] == 40);
}

BOOST_AUTO_TEST_CASE(bad_devices_file_throws) {
    auto bad = files().dir / "bad.json";
    std::ofstream(bad) << "{ not json";
    BOOST_CHECK_THROW(ig::test::GraphEmulator({bad, files().pki / "server.crt", files().pki / "server.key"}),
                      std::exception);
    BOOST_CHECK_THROW(
        ig::test::GraphEmulator({files().dir / "missing.json", files().pki / "server.crt", files().pki / "server.key"}),
        std::exception);
}

BOOST_AUTO_TEST_SUITE_END()
