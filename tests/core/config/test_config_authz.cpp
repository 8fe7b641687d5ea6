// The configuration of plugin mode: the "authz" endpoint block and "listen": null. Same helpers as
// test_config.cpp (its own PKI folder).
#define BOOST_TEST_MODULE config_authz
#include <boost/test/unit_test.hpp>

#include "core/config/config.hpp"
#include "tests/support/test_pki.hpp"

#include <nlohmann/json.hpp>

#include <sys/stat.h>
#include <unistd.h>
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const fs::path& pki() { return ig::test::test_pki(); }

// The smallest valid document; paths relative to the PKI folder.
json minimal() {
    return json::parse(R"({
      "tls": { "certificate": "server.crt", "private_key": "server.key", "client_ca": "device-ca.crt" },
      "intune": { "tenant_id": "11111111-2222-4333-8444-555555555555",
                  "client_id": "66666666-7777-4888-8999-000000000000",
                  "client_secret": { "env": "IG_TEST_SECRET" } }
    })");
}

struct Env {
    Env() { ::setenv("IG_TEST_SECRET", "env-s3cret-value", 1); }
};

ig::ConfigResult parse(const json& doc) {
    static Env env;
    (void)env;
    return ig::parse_config(doc, pki());
}

std::string all(const ig::ConfigResult& r) {
    std::string out;
    for (const auto& e : r.errors) out += e + "\n";
    return out;
}

// Exactly this error line is reported and no config comes back.
void expect_error(const ig::ConfigResult& r, const std::string& line) {
    BOOST_TEST(!r.config.has_value());
    bool found = std::find(r.errors.begin(), r.errors.end(), line) != r.errors.end();
    BOOST_TEST(found, "missing line: " << line << "\ngot:\n" << all(r));
}

// A line for this JSON path that contains `phrase`.
void expect_error_like(const ig::ConfigResult& r, const std::string& path, const std::string& phrase) {
    BOOST_TEST(!r.config.has_value());
    std::string prefix = "config error: " + path + ": ";
    bool found = std::any_of(r.errors.begin(), r.errors.end(), [&](const std::string& e) {
        return e.rfind(prefix, 0) == 0 && e.find(phrase) != std::string::npos;
    });
    BOOST_TEST(found, "missing: " << prefix << "..." << phrase << "\ngot:\n" << all(r));
}

void expect_ok(const ig::ConfigResult& r) {
    BOOST_TEST(r.errors.empty(), "unexpected errors:\n" << all(r));
    BOOST_TEST(r.config.has_value());
}

json with(json doc, const std::string& pointer, json value) {
    doc[json::json_pointer(pointer)] = std::move(value);
    return doc;
}

json without(json doc, const std::string& parent, const std::string& key) {
    doc[json::json_pointer(parent)].erase(key);
    return doc;
}

json authz_block() {
    return json::parse(R"({"address": "127.0.0.1", "port": 9191, "trusted_peers": ["127.0.0.1/32", "::1/128"]})");
}

}  // namespace

BOOST_AUTO_TEST_CASE(absent_or_null_means_no_endpoint) {
    auto r = parse(minimal());
    expect_ok(r);
    if (r.config) BOOST_TEST(!r.config->authz.enabled);
    r = parse(with(minimal(), "/authz", nullptr));
    expect_ok(r);
    if (r.config) BOOST_TEST(!r.config->authz.enabled);
}

BOOST_AUTO_TEST_CASE(defaults) {
    auto r = parse(with(minimal(), "/authz", json::parse(R"({"trusted_peers": ["10.0.0.0/8"]})")));
    expect_ok(r);
    if (!r.config) return;
    const auto& a = r.config->authz;
    BOOST_TEST(a.enabled);
    BOOST_TEST(a.address == "127.0.0.1");
    BOOST_TEST(a.port == 9191);
    BOOST_TEST(a.trusted_peers.size() == 1u);
    const std::vector<std::string> headers{"Client-Cert", "X-Forwarded-Client-Cert", "X-Forwarded-Tls-Client-Cert",
                                           "X-SSL-Client-Cert"};
    BOOST_TEST(a.certificate_headers == headers);
    BOOST_TEST(!a.verify_header);
    BOOST_TEST(r.config->listen.enabled);
}

BOOST_AUTO_TEST_CASE(every_field) {
    auto block = authz_block();
    block["certificate_headers"] = {"X-Client-Cert"};
    block["verify_header"] = {{"name", "X-SSL-Client-Verify"}, {"value", "SUCCESS"}};
    auto r = parse(with(minimal(), "/authz", block));
    expect_ok(r);
    if (!r.config) return;
    BOOST_TEST(r.config->authz.certificate_headers == std::vector<std::string>{"X-Client-Cert"});
    BOOST_REQUIRE(r.config->authz.verify_header);
    BOOST_TEST(r.config->authz.verify_header->first == "X-SSL-Client-Verify");
    BOOST_TEST(r.config->authz.verify_header->second == "SUCCESS");
}

BOOST_AUTO_TEST_CASE(trusted_peers_are_required) {
    expect_error(parse(with(minimal(), "/authz", json::object())),
                 "config error: /authz/trusted_peers: is required (the proxies allowed to ask, as CIDRs)");
    expect_error(parse(with(minimal(), "/authz", json::parse(R"({"trusted_peers": []})"))),
                 "config error: /authz/trusted_peers: must list at least one CIDR");
    expect_error_like(parse(with(minimal(), "/authz", json::parse(R"({"trusted_peers": ["nope"]})"))),
                      "/authz/trusted_peers/0", "is not a CIDR");
}

BOOST_AUTO_TEST_CASE(bad_fields) {
    expect_error(parse(with(minimal(), "/authz", "on")), "config error: /authz: expected an object, got string");
}

BOOST_AUTO_TEST_CASE(bad_values_name_their_path) {
    auto doc = with(minimal(), "/authz", authz_block());
    expect_error(parse(with(doc, "/authz/prot", 1)), "config error: /authz/prot: unknown key");
    expect_error_like(parse(with(doc, "/authz/address", "localhost")), "/authz/address",
                      "must be an IPv4 or IPv6 address");
    expect_error_like(parse(with(doc, "/authz/port", 0)), "/authz/port", "must be between 1 and 65535");
    expect_error(parse(with(doc, "/authz/certificate_headers", json::array())),
                 "config error: /authz/certificate_headers: must name at least one header");
    expect_error_like(parse(with(doc, "/authz/certificate_headers", {"Bad Header"})), "/authz/certificate_headers/0",
                      "is not a valid header name");
    expect_error_like(parse(with(doc, "/authz/certificate_headers", {"Client-Cert", "client-cert"})),
                      "/authz/certificate_headers/1", "is listed twice");
    expect_error(parse(with(doc, "/authz/verify_header", {{"name", "X-V"}})),
                 "config error: /authz/verify_header/value: is required");
    expect_error_like(parse(with(doc, "/authz/verify_header", {{"name", "X-V"}, {"value", "a\r\nb"}})),
                      "/authz/verify_header/value", "control characters");
    expect_error_like(parse(with(doc, "/authz/port", 9901)), "/authz/port", "is the same as /admin/port");
    expect_error_like(parse(with(with(doc, "/authz/port", 8443), "/listen", {{"port", 8443}})), "/authz/port",
                      "is the same as /listen/port");
}

BOOST_AUTO_TEST_CASE(listen_null_is_plugin_only) {
    // No server certificate or key needed then; the client CA still is.
    auto doc = with(minimal(), "/authz", authz_block());
    doc = with(doc, "/listen", nullptr);
    doc = without(without(doc, "/tls", "certificate"), "/tls", "private_key");
    auto r = parse(doc);
    expect_ok(r);
    if (r.config) {
        BOOST_TEST(!r.config->listen.enabled);
        BOOST_TEST(r.config->authz.enabled);
    }
    expect_error(parse(without(doc, "/tls", "client_ca")), "config error: /tls/client_ca: is required");
    // With the front end on, they are required as before.
    auto front =
        without(without(with(minimal(), "/authz", authz_block()), "/tls", "certificate"), "/tls", "private_key");
    expect_error(parse(front), "config error: /tls/certificate: is required");
}

BOOST_AUTO_TEST_CASE(something_must_serve) {
    expect_error(parse(with(minimal(), "/listen", nullptr)),
                 "config error: /listen: is null and there is no \"authz\" endpoint: nothing would serve requests");
}

BOOST_AUTO_TEST_CASE(shipped_plugin_config_is_valid) {
    std::ifstream in(IG_SOURCE_DIR "/conf/plugin/intune-gate.json");
    BOOST_REQUIRE(in);
    json doc = json::parse(in);
    // Only the file paths and the secret's variable are the deployment's own.
    doc["tls"]["client_ca"] = "device-ca.crt";
    ::setenv("INTUNE_CLIENT_SECRET", "s3cret", 1);
    auto r = parse(doc);
    expect_ok(r);
    if (!r.config) return;
    BOOST_TEST(!r.config->listen.enabled);
    BOOST_TEST(r.config->authz.enabled);
    BOOST_TEST(r.config->authz.port == 9191);
}
