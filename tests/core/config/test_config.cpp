// The configuration loader (docs/configuration.md): every class of bad input gives its exact error line and
// no config; a valid file gives every field, defaults and absolute paths.
#define BOOST_TEST_MODULE config
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
#include <vector>

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

const fs::path& pki() { return ig::test::test_pki(); }

void write(const fs::path& file, const std::string& text) {
    fs::create_directories(file.parent_path());
    std::ofstream(file, std::ios::binary) << text;
}

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

}  // namespace

BOOST_AUTO_TEST_SUITE(valid)

BOOST_AUTO_TEST_CASE(minimal_config_gets_every_default) {
    auto r = parse(minimal());
    expect_ok(r);
    if (!r.config) return;
    const auto& c = *r.config;
    BOOST_TEST(c.listen.address == "0.0.0.0");
    BOOST_TEST(c.listen.port == 8443);
    BOOST_TEST(c.workers == 0u);
    BOOST_TEST(c.tls.certificate == pki() / "server.crt");
    BOOST_TEST(c.tls.private_key == pki() / "server.key");
    BOOST_TEST(c.tls.client_ca == pki() / "device-ca.crt");
    BOOST_TEST(!c.tls.crl.has_value());
    BOOST_TEST(c.tls.client_certificate_required);
    BOOST_TEST(c.tls.min_version == "1.2");
    BOOST_TEST(c.tls.session_cache == 10000u);
    BOOST_TEST(c.tls.session_timeout.count() == 300);
    BOOST_TEST((c.device_id.sources == std::vector{ig::IdSource::SanUri, ig::IdSource::SubjectCn}));
    BOOST_TEST(c.device_id.san_uri_scheme == "IntuneDeviceId");
    BOOST_TEST(c.device_id.header == "X-Intune-Device-Id");
    BOOST_TEST(c.device_id.trusted_peers.empty());
    BOOST_TEST((c.intune.auth == ig::AuthMode::ClientSecret));
    BOOST_TEST(c.intune.client_secret.value == "env-s3cret-value");
    BOOST_TEST(!c.intune.client_secret.literal);
    BOOST_TEST(c.intune.login_url == "https://login.microsoftonline.com");
    BOOST_TEST(c.intune.graph_url == "https://graph.microsoft.com");
    BOOST_TEST(!c.intune.ca_file.has_value());
    BOOST_TEST(c.intune.timeout.count() == 5000);
    BOOST_TEST(c.intune.cache.compliant_ttl.count() == 300);
    BOOST_TEST(c.intune.cache.other_ttl.count() == 30);
    BOOST_TEST(c.intune.cache.max_entries == 100000u);
    BOOST_TEST((c.intune.device_not_found == ig::Outcome::NotCompliant));
    BOOST_TEST(!c.intune.save_device_properties);
    BOOST_TEST(c.intune.device_properties.empty());
    BOOST_TEST(!c.intune.save_installed_apps);
    BOOST_TEST(c.upstream.url == "http://127.0.0.1:8080");
    BOOST_TEST(!c.upstream.tls);
    BOOST_TEST(c.upstream.host == "127.0.0.1");
    BOOST_TEST(c.upstream.port == 8080);
    BOOST_TEST(c.upstream.timeout.count() == 30000);
    BOOST_TEST((c.action_for(ig::Outcome::Compliant).action == ig::Action::Forward));
    BOOST_TEST(c.action_for(ig::Outcome::Compliant).headers.empty());
    for (auto o : {ig::Outcome::NotCompliant, ig::Outcome::InGracePeriod, ig::Outcome::ConfigManager,
                   ig::Outcome::Conflict, ig::Outcome::NoId, ig::Outcome::StatusUnknown, ig::Outcome::Error}) {
        BOOST_TEST((c.action_for(o).action == ig::Action::Reject), ig::to_string(o));
        BOOST_TEST(c.action_for(o).status == 403u, ig::to_string(o));
    }
    BOOST_TEST(c.limits.max_header_bytes == 16384u);
    BOOST_TEST(c.limits.max_body_bytes == 10485760u);
    BOOST_TEST(c.limits.handshake_timeout.count() == 5);
    BOOST_TEST(c.limits.header_timeout.count() == 10);
    BOOST_TEST(c.limits.idle_timeout.count() == 60);
    BOOST_TEST(c.limits.max_connections == 10000u);
    BOOST_TEST(c.limits.max_connections_per_address == 1000u);
    BOOST_TEST(c.limits.max_pending_handshakes == 1000u);
    BOOST_TEST(c.admin.enabled);
    BOOST_TEST(c.admin.address == "127.0.0.1");
    BOOST_TEST(c.admin.port == 9901);
    BOOST_TEST(c.warnings.empty());
}

BOOST_AUTO_TEST_CASE(full_config_file_every_field_and_relative_paths) {
    auto conf = pki() / "conf" / "full.json";
    write(pki() / "secrets" / "graph.secret", "file-s3cret\n");
    write(conf, R"({
      "listen":  { "address": "::1", "port": 18443 },
      "workers": 4,
      "tls": { "certificate": "../server.crt", "private_key": "../server.key", "client_ca": "../device-ca.crt",
               "crl": "../device-ca.crl", "client_certificate": "optional", "min_version": "1.3",
               "session_cache": 0, "session_timeout_s": 60 },
      "device_id": { "sources": ["header", "subject_cn"], "san_uri_scheme": "MyScheme",
                     "header": "X-Device", "trusted_peers": ["10.0.0.0/8", "::1", "192.168.1.7"] },
      "intune": { "tenant_id": "contoso.onmicrosoft.com", "client_id": "66666666-7777-4888-8999-000000000000",
                  "auth": "password", "client_secret": { "file": "../secrets/graph.secret" },
                  "username": "svc@contoso.example", "password": "p@ss w+rd&=",
                  "login_url": "https://127.0.0.1:9443/", "graph_url": "https://Graph.Example:8443",
                  "ca_file": "../server-ca.crt", "timeout_ms": 2500,
                  "cache": { "compliant_ttl_s": 0, "other_ttl_s": 5, "max_entries": 7 },
                  "device_not_found": "Error", "save_device_properties": true,
                  "device_properties": ["deviceName", "osVersion"], "save_installed_apps": true },
      "upstream": { "url": "https://[::1]:9444", "ca_file": "../server-ca.crt", "timeout_ms": 1234 },
      "outcomes": {
        "Compliant":     { "action": "forward", "headers": { "X-Auth-Level": "2", "X-Tier": "gold" } },
        "NotCompliant":  { "action": "redirect", "location": "https://portal.manage.microsoft.com/" },
        "InGracePeriod": { "action": "redirect", "location": "http://example.com/a?b=c", "status": 307 },
        "NoId":          { "action": "reject", "status": 401 },
        "Error":         { "action": "reject" }
      },
      "limits": { "max_header_bytes": 8192, "max_body_bytes": 0, "handshake_timeout_s": 3, "header_timeout_s": 4,
                  "idle_timeout_s": 9, "max_connections": 50, "max_connections_per_address": 7,
                  "max_pending_handshakes": 11 },
      "admin": { "address": "127.0.0.1", "port": 19901 }
    })");
    auto r = ig::load_config(conf);
    expect_ok(r);
    if (!r.config) return;
    const auto& c = *r.config;
    const auto& d = pki();
    BOOST_TEST(c.file == conf);
    BOOST_TEST(c.listen.address == "::1");
    BOOST_TEST(c.listen.port == 18443);
    BOOST_TEST(c.workers == 4u);
    BOOST_TEST(c.tls.certificate == d / "server.crt");
    BOOST_TEST(c.tls.certificate.is_absolute());
    BOOST_TEST(c.tls.private_key == d / "server.key");
    BOOST_TEST(c.tls.client_ca == d / "device-ca.crt");
    BOOST_TEST((c.tls.crl == d / "device-ca.crl"));
    BOOST_TEST(!c.tls.client_certificate_required);
    BOOST_TEST(c.tls.min_version == "1.3");
    BOOST_TEST(c.tls.session_cache == 0u);
    BOOST_TEST(c.tls.session_timeout.count() == 60);
    BOOST_TEST((c.device_id.sources == std::vector{ig::IdSource::Header, ig::IdSource::SubjectCn}));
    BOOST_TEST(c.device_id.san_uri_scheme == "MyScheme");
    BOOST_TEST(c.device_id.header == "X-Device");
    BOOST_REQUIRE(c.device_id.trusted_peers.size() == 3u);
    namespace ip = boost::asio::ip;
    const auto& peers = c.device_id.trusted_peers;
    BOOST_TEST((std::get<ip::network_v4>(peers[0].network) == ip::make_network_v4("10.0.0.0/8")));
    BOOST_TEST(peers[0].text == "10.0.0.0/8");
    BOOST_TEST((std::get<ip::network_v6>(peers[1].network) == ip::make_network_v6("::1/128")));
    BOOST_TEST((std::get<ip::network_v4>(peers[2].network) == ip::make_network_v4("192.168.1.7/32")));
    BOOST_TEST(c.intune.tenant_id == "contoso.onmicrosoft.com");
    BOOST_TEST((c.intune.auth == ig::AuthMode::Password));
    BOOST_TEST(c.intune.client_secret.value == "file-s3cret");  // trailing newline dropped
    BOOST_TEST(c.intune.username == "svc@contoso.example");
    BOOST_TEST(c.intune.password.value == "p@ss w+rd&=");
    BOOST_TEST(c.intune.password.literal);
    BOOST_TEST(c.intune.login_url == "https://127.0.0.1:9443");
    BOOST_TEST(c.intune.graph_url == "https://Graph.Example:8443");
    BOOST_TEST((c.intune.ca_file == d / "server-ca.crt"));
    BOOST_TEST(c.intune.timeout.count() == 2500);
    BOOST_TEST(c.intune.cache.compliant_ttl.count() == 0);
    BOOST_TEST(c.intune.cache.other_ttl.count() == 5);
    BOOST_TEST(c.intune.cache.max_entries == 7u);
    BOOST_TEST((c.intune.device_not_found == ig::Outcome::Error));
    BOOST_TEST(c.intune.save_device_properties);
    BOOST_TEST((c.intune.device_properties == std::vector<std::string>{"deviceName", "osVersion"}));
    BOOST_TEST(c.intune.save_installed_apps);
    BOOST_TEST(c.upstream.url == "https://[::1]:9444");
    BOOST_TEST(c.upstream.tls);
    BOOST_TEST(c.upstream.host == "::1");
    BOOST_TEST(c.upstream.port == 9444);
    BOOST_TEST((c.upstream.ca_file == d / "server-ca.crt"));
    BOOST_TEST(c.upstream.timeout.count() == 1234);
    const auto& ok = c.action_for(ig::Outcome::Compliant);
    BOOST_TEST((ok.action == ig::Action::Forward));
    BOOST_REQUIRE(ok.headers.size() == 2u);
    BOOST_TEST(ok.headers[0].first == "X-Auth-Level");
    BOOST_TEST(ok.headers[0].second == "2");
    BOOST_TEST(ok.headers[1].first == "X-Tier");
    BOOST_TEST(ok.headers[1].second == "gold");
    const auto& nc = c.action_for(ig::Outcome::NotCompliant);
    BOOST_TEST((nc.action == ig::Action::Redirect));
    BOOST_TEST(nc.status == 302u);
    BOOST_TEST(nc.location == "https://portal.manage.microsoft.com/");
    BOOST_TEST(c.action_for(ig::Outcome::InGracePeriod).status == 307u);
    BOOST_TEST(c.action_for(ig::Outcome::InGracePeriod).location == "http://example.com/a?b=c");
    BOOST_TEST((c.action_for(ig::Outcome::NoId).action == ig::Action::Reject));
    BOOST_TEST(c.action_for(ig::Outcome::NoId).status == 401u);
    BOOST_TEST(c.action_for(ig::Outcome::Error).status == 403u);
    BOOST_TEST((c.action_for(ig::Outcome::Conflict).action == ig::Action::Reject));  // left out
    BOOST_TEST(c.limits.max_header_bytes == 8192u);
    BOOST_TEST(c.limits.max_body_bytes == 0u);
    BOOST_TEST(c.limits.handshake_timeout.count() == 3);
    BOOST_TEST(c.limits.idle_timeout.count() == 9);
    BOOST_TEST(c.limits.header_timeout.count() == 4);
    BOOST_TEST(c.limits.max_connections == 50u);
    BOOST_TEST(c.limits.max_connections_per_address == 7u);
    BOOST_TEST(c.limits.max_pending_handshakes == 11u);
    BOOST_TEST(c.admin.port == 19901);
    // The literal password is warned about, without its value.
    BOOST_REQUIRE(c.warnings.size() == 1u);
    BOOST_TEST(c.warnings[0].rfind("/intune/password: ", 0) == 0u);
    BOOST_TEST(c.warnings[0].find("p@ss") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(shipped_demo_config_is_valid) {
    // conf/demo.json names ../demo-pki/; check the same file against this run's PKI.
    std::ifstream in(IG_SOURCE_DIR "/conf/demo.json");
    std::string text((std::istreambuf_iterator<char>(in)), {});
    BOOST_REQUIRE(!text.empty());
    auto conf = pki() / "demo-conf" / "demo.json";
    for (std::string::size_type p; (p = text.find("../demo-pki/")) != std::string::npos;) text.replace(p, 12, "../");
    write(conf, text);
    auto r = ig::load_config(conf);
    expect_ok(r);
    if (!r.config) return;
    const auto& c = *r.config;
    BOOST_TEST(c.intune.client_secret.value == "demo-s3cret+/=&~ x");
    BOOST_TEST(c.intune.login_url == "https://127.0.0.1:9443");
    BOOST_TEST((c.action_for(ig::Outcome::Error).action == ig::Action::Reject));
    BOOST_TEST(c.action_for(ig::Outcome::Error).status == 503u);
    BOOST_TEST(c.action_for(ig::Outcome::NoId).status == 401u);
    BOOST_TEST((c.action_for(ig::Outcome::NotCompliant).action == ig::Action::Redirect));
    BOOST_TEST((c.action_for(ig::Outcome::ConfigManager).action == ig::Action::Forward));
    for (const auto& w : c.warnings) BOOST_TEST(w.find("demo-s3cret") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(shipped_production_config_is_valid_with_its_files_and_secret) {
    // conf/production.json expects server.crt, server.key, device-ca.crt beside it: the PKI has them.
    auto conf = pki() / "production.json";
    fs::copy_file(IG_SOURCE_DIR "/conf/production.json", conf, fs::copy_options::overwrite_existing);
    ::unsetenv("INTUNE_CLIENT_SECRET");
    expect_error(ig::load_config(conf),
                 "config error: /intune/client_secret: environment variable INTUNE_CLIENT_SECRET is not set");
    ::setenv("INTUNE_CLIENT_SECRET", "prod-secret", 1);
    auto r = ig::load_config(conf);
    ::unsetenv("INTUNE_CLIENT_SECRET");
    expect_ok(r);
    if (!r.config) return;
    BOOST_TEST(r.config->warnings.empty());
    BOOST_TEST(r.config->intune.client_secret.value == "prod-secret");
    // Every option shown carries its default: the same as the minimal config's.
    auto defaults = parse(minimal());
    BOOST_REQUIRE(defaults.config.has_value());
    const auto& a = *r.config;
    const auto& b = *defaults.config;
    BOOST_TEST(a.listen.port == b.listen.port);
    BOOST_TEST(a.workers == b.workers);
    BOOST_TEST(a.intune.timeout.count() == b.intune.timeout.count());
    BOOST_TEST(a.intune.cache.max_entries == b.intune.cache.max_entries);
    BOOST_TEST(a.intune.login_url == b.intune.login_url);
    BOOST_TEST(a.intune.graph_url == b.intune.graph_url);
    BOOST_TEST(a.upstream.timeout.count() == b.upstream.timeout.count());
    BOOST_TEST(a.limits.max_body_bytes == b.limits.max_body_bytes);
    BOOST_TEST(a.limits.max_connections == b.limits.max_connections);
}

BOOST_AUTO_TEST_CASE(admin_null_disables_the_listener) {
    auto r = parse(with(minimal(), "/admin", nullptr));
    expect_ok(r);
    if (r.config) BOOST_TEST(!r.config->admin.enabled);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(file_and_syntax)

BOOST_AUTO_TEST_CASE(missing_file) {
    auto r = ig::load_config(pki() / "no-such.json");
    expect_error(
        r, "config error: /: cannot read file '" + (pki() / "no-such.json").string() + "': No such file or directory");
}

BOOST_AUTO_TEST_CASE(not_json_names_line_and_column) {
    auto conf = pki() / "broken.json";
    write(conf, "{\n  \"workers\": 1,\n}\n");
    auto r = ig::load_config(conf);
    expect_error_like(r, "/", "not valid JSON: parse error at line 3, column 1");
    BOOST_TEST(r.errors.size() == 1u);
}

BOOST_AUTO_TEST_CASE(duplicate_keys_are_errors) {
    auto conf = pki() / "dup.json";
    write(conf, R"({"workers": 1, "outcomes": {"NoId": {"action": "reject"}, "NoId": {"action": "forward"}},
                   "device_id": {"trusted_peers": [{"a": 1, "a": 2}]}, "workers": 2})");
    auto r = ig::load_config(conf);
    expect_error(r, "config error: /outcomes/NoId: duplicate key");
    expect_error(r, "config error: /workers: duplicate key");
    expect_error(r, "config error: /device_id/trusted_peers/0/a: duplicate key");
}

BOOST_AUTO_TEST_CASE(nesting_is_limited) {
    // A file nested a million levels deep is refused by depth, not by a stack overflow.
    auto conf = pki() / "deep.json";
    write(conf, R"({"workers": 1, "x": )" + std::string(1'000'000, '[') + std::string(1'000'000, ']') + "}");
    auto r = ig::load_config(conf);
    expect_error(r, "config error: /: JSON nested deeper than 32 levels");
    BOOST_TEST(r.errors.size() == 1u);
}

BOOST_AUTO_TEST_CASE(text_entry_point_is_the_same_loader) {
    ::setenv("IG_TEST_SECRET", "env-s3cret-value", 1);
    auto text = minimal().dump();
    auto r = ig::load_config_text(text, pki());
    expect_ok(r);
    if (r.config) BOOST_TEST(r.config->file.empty());
    auto dup = ig::load_config_text(R"({"workers": 1, "workers": 2})", pki());
    expect_error(dup, "config error: /workers: duplicate key");
    expect_error_like(ig::load_config_text("{", pki()), "/", "not valid JSON: parse error at line 1, column 2");
}

BOOST_AUTO_TEST_CASE(document_must_be_an_object) {
    expect_error(parse(json::array()), "config error: /: expected an object, got array");
}

BOOST_AUTO_TEST_CASE(every_problem_is_reported_at_once) {
    auto doc = with(minimal(), "/workers", "two");
    doc = with(doc, "/tls/clinet_ca", "x.crt");
    doc = with(doc, "/listen/port", 0);
    doc = with(doc, "/outcomes/Nope", json::object());
    auto r = parse(doc);
    expect_error(r, "config error: /workers: expected an integer, got string");
    expect_error(r, "config error: /tls/clinet_ca: unknown key");
    expect_error(r, "config error: /listen/port: must be between 1 and 65535, got 0");
    expect_error_like(r, "/outcomes/Nope", "unknown outcome");
    BOOST_TEST(r.errors.size() == 4u);
}

BOOST_AUTO_TEST_CASE(keys_with_control_characters_are_escaped) {
    auto r = parse(with(minimal(), "/evil\r\nX-Injected: 1", 1));
    expect_error(r, "config error: /evil\\x0d\\x0aX-Injected: 1: unknown key");
    for (const auto& e : r.errors) BOOST_TEST(e.find('\n') == std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(types_keys_ranges)

BOOST_AUTO_TEST_CASE(connection_limits_are_validated) {
    expect_error(parse(with(minimal(), "/limits/header_timeout_s", 0)),
                 "config error: /limits/header_timeout_s: must be between 1 and 3600, got 0");
    expect_error(parse(with(minimal(), "/limits/header_timeout_s", "10")),
                 "config error: /limits/header_timeout_s: expected an integer, got string");
    expect_error(parse(with(minimal(), "/limits/max_connections_per_address", 0)),
                 "config error: /limits/max_connections_per_address: must be between 1 and 1000000, got 0");
    expect_error(parse(with(minimal(), "/limits/max_pending_handshakes", -1)),
                 "config error: /limits/max_pending_handshakes: must be between 1 and 1000000, got -1");
    expect_error(parse(with(minimal(), "/limits/max_pending_handshake", 5)),
                 "config error: /limits/max_pending_handshake: unknown key");
}

BOOST_AUTO_TEST_CASE(unknown_keys) {
    expect_error(parse(with(minimal(), "/tls/clinet_ca", "device-ca.crt")),
                 "config error: /tls/clinet_ca: unknown key");
    expect_error(parse(with(minimal(), "/colour", 1)), "config error: /colour: unknown key");
    expect_error(parse(with(minimal(), "/intune/cache/ttl", 1)), "config error: /intune/cache/ttl: unknown key");
    auto doc = minimal();
    doc["a~b/c"] = 1;
    expect_error(parse(doc), "config error: /a~0b~1c: unknown key");
}

BOOST_AUTO_TEST_CASE(wrong_types) {
    expect_error(parse(with(minimal(), "/tls", json::array())), "config error: /tls: expected an object, got array");
    expect_error(parse(with(minimal(), "/listen/port", "8443")),
                 "config error: /listen/port: expected an integer, got string");
    expect_error(parse(with(minimal(), "/listen/port", 8443.5)),
                 "config error: /listen/port: expected an integer, got number");
    expect_error(parse(with(minimal(), "/intune/save_installed_apps", "yes")),
                 "config error: /intune/save_installed_apps: expected a boolean, got string");
    expect_error(parse(with(minimal(), "/tls/certificate", nullptr)),
                 "config error: /tls/certificate: expected a string, got null");
    expect_error(parse(with(minimal(), "/device_id/sources", "san_uri")),
                 "config error: /device_id/sources: expected an array, got string");
}

BOOST_AUTO_TEST_CASE(required_keys) {
    expect_error(parse(without(minimal(), "", "tls")), "config error: /tls: is required");
    expect_error(parse(without(minimal(), "", "intune")), "config error: /intune: is required");
    expect_error(parse(without(minimal(), "/tls", "client_ca")), "config error: /tls/client_ca: is required");
    expect_error(parse(without(minimal(), "/intune", "tenant_id")), "config error: /intune/tenant_id: is required");
    expect_error(parse(without(minimal(), "/intune", "client_id")), "config error: /intune/client_id: is required");
}

BOOST_AUTO_TEST_CASE(bad_enums) {
    expect_error(
        parse(with(minimal(), "/intune/auth", "oauth")),
        "config error: /intune/auth: must be one of \"client_secret\", \"certificate\", \"password\", got \"oauth\"");
    expect_error(parse(with(minimal(), "/tls/client_certificate", "maybe")),
                 "config error: /tls/client_certificate: must be one of \"required\", \"optional\", got \"maybe\"");
    expect_error(parse(with(minimal(), "/tls/min_version", "1.1")),
                 "config error: /tls/min_version: must be one of \"1.2\", \"1.3\", got \"1.1\"");
    expect_error(parse(with(minimal(), "/tls/session_timeout_s", 0)),
                 "config error: /tls/session_timeout_s: must be between 1 and 86400, got 0");
    expect_error(parse(with(minimal(), "/tls/session_cache", -1)),
                 "config error: /tls/session_cache: must be between 0 and 1000000, got -1");
    expect_error(parse(with(minimal(), "/intune/device_not_found", "Gone")),
                 "config error: /intune/device_not_found: is not an outcome name: \"Gone\"");
}

BOOST_AUTO_TEST_CASE(numbers_out_of_range) {
    expect_error(parse(with(minimal(), "/listen/port", 65536)),
                 "config error: /listen/port: must be between 1 and 65535, got 65536");
    expect_error(parse(with(minimal(), "/admin/port", -1)),
                 "config error: /admin/port: must be between 1 and 65535, got -1");
    expect_error(parse(with(minimal(), "/workers", 257)), "config error: /workers: must be between 0 and 256, got 257");
    expect_error(parse(with(minimal(), "/intune/timeout_ms", 0)),
                 "config error: /intune/timeout_ms: must be between 1 and 600000, got 0");
    expect_error(parse(with(minimal(), "/upstream/timeout_ms", 0)),
                 "config error: /upstream/timeout_ms: must be between 1 and 3600000, got 0");
    expect_error_like(parse(with(minimal(), "/limits/handshake_timeout_s", 0)), "/limits/handshake_timeout_s",
                      "must be between 1 and");
    expect_error_like(parse(with(minimal(), "/limits/idle_timeout_s", 0)), "/limits/idle_timeout_s",
                      "must be between 1");
    expect_error_like(parse(with(minimal(), "/limits/max_header_bytes", 10)), "/limits/max_header_bytes",
                      "must be between 1024");
    expect_error_like(parse(with(minimal(), "/limits/max_connections", 0)), "/limits/max_connections",
                      "must be between 1");
    expect_error_like(parse(with(minimal(), "/intune/cache/other_ttl_s", -5)), "/intune/cache/other_ttl_s",
                      "must be between 0");
}

BOOST_AUTO_TEST_CASE(listen_addresses) {
    expect_error(parse(with(minimal(), "/listen/address", "localhost")),
                 "config error: /listen/address: must be an IPv4 or IPv6 address, got \"localhost\"");
    auto doc = with(minimal(), "/admin", json{{"address", "0.0.0.0"}, {"port", 8443}});
    expect_error(parse(doc), "config error: /admin/port: is the same as /listen/port (8443)");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(certificates_and_keys)

BOOST_AUTO_TEST_CASE(unreadable_file) {
    expect_error(parse(with(minimal(), "/tls/client_ca", "certs/x.pem")),
                 "config error: /tls/client_ca: cannot read file 'certs/x.pem': No such file or directory");
}

BOOST_AUTO_TEST_CASE(directories_and_devices_are_not_files) {
    expect_error(parse(with(minimal(), "/tls/client_ca", ".")),
                 "config error: /tls/client_ca: cannot read file '.': Is a directory");
    expect_error(parse(with(minimal(), "/tls/client_ca", "/dev/zero")),
                 "config error: /tls/client_ca: cannot read file '/dev/zero': not a regular file");
    auto fifo = pki() / "a.fifo";
    if (::mkfifo(fifo.c_str(), 0600) == 0)  // a FIFO without a writer must not hang the loader
        expect_error(parse(with(minimal(), "/intune/client_secret", json{{"file", "a.fifo"}})),
                     "config error: /intune/client_secret: cannot read file 'a.fifo': not a regular file");
}

BOOST_AUTO_TEST_CASE(pem_that_does_not_parse) {
    write(pki() / "garbage.crt", "-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n");
    expect_error(parse(with(minimal(), "/tls/certificate", "garbage.crt")),
                 "config error: /tls/certificate: 'garbage.crt' holds a PEM certificate that does not parse");
    write(pki() / "garbage.key", "this is not a key\n");
    expect_error_like(parse(with(minimal(), "/tls/private_key", "garbage.key")), "/tls/private_key",
                      "'garbage.key' holds no PEM private key that parses");
}

BOOST_AUTO_TEST_CASE(private_key_must_match_certificate) {
    expect_error(parse(with(minimal(), "/tls/private_key", "device-compliant.key")),
                 "config error: /tls/private_key: the private key in 'device-compliant.key' does not match the "
                 "certificate in 'server.crt'");
}

BOOST_AUTO_TEST_CASE(ca_bundle_without_certificate) {
    expect_error(parse(with(minimal(), "/tls/client_ca", "device-ca.key")),
                 "config error: /tls/client_ca: no PEM certificate in 'device-ca.key'");
    expect_error(parse(with(minimal(), "/intune/ca_file", "server.key")),
                 "config error: /intune/ca_file: no PEM certificate in 'server.key'");
    auto r = parse(with(minimal(), "/intune/ca_file", nullptr));
    expect_ok(r);
}

BOOST_AUTO_TEST_CASE(crl_checks) {
    write(pki() / "garbage.crl", "-----BEGIN X509 CRL-----\n!!!\n-----END X509 CRL-----\n");
    expect_error(parse(with(minimal(), "/tls/crl", "garbage.crl")),
                 "config error: /tls/crl: 'garbage.crl' holds a PEM CRL that does not parse");
    expect_error(parse(with(minimal(), "/tls/crl", "server.crt")),
                 "config error: /tls/crl: no PEM CRL in 'server.crt'");
    auto doc = with(minimal(), "/tls/crl", "device-ca.crl");
    expect_ok(parse(doc));
    expect_error_like(parse(with(doc, "/tls/client_ca", "other-ca.crt")), "/tls/crl",
                      "is not signed by any certificate");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(secrets)

BOOST_AUTO_TEST_CASE(unset_environment_variable) {
    ::unsetenv("IG_TEST_UNSET_SECRET");
    expect_error(parse(with(minimal(), "/intune/client_secret", json{{"env", "IG_TEST_UNSET_SECRET"}})),
                 "config error: /intune/client_secret: environment variable IG_TEST_UNSET_SECRET is not set");
    ::setenv("IG_TEST_EMPTY_SECRET", "", 1);
    expect_error(parse(with(minimal(), "/intune/client_secret", json{{"env", "IG_TEST_EMPTY_SECRET"}})),
                 "config error: /intune/client_secret: environment variable IG_TEST_EMPTY_SECRET is empty");
}

BOOST_AUTO_TEST_CASE(from_environment) {
    ::setenv("IG_TEST_OTHER_SECRET", "another value", 1);
    auto r = parse(with(minimal(), "/intune/client_secret", json{{"env", "IG_TEST_OTHER_SECRET"}}));
    expect_ok(r);
    if (r.config) BOOST_TEST(r.config->intune.client_secret.value == "another value");
}

BOOST_AUTO_TEST_CASE(from_file) {
    write(pki() / "s.secret", "from-a-file\r\n");
    auto r = parse(with(minimal(), "/intune/client_secret", json{{"file", "s.secret"}}));
    expect_ok(r);
    if (r.config) BOOST_TEST(r.config->intune.client_secret.value == "from-a-file");
    write(pki() / "empty.secret", "\n");
    expect_error(parse(with(minimal(), "/intune/client_secret", json{{"file", "empty.secret"}})),
                 "config error: /intune/client_secret: file 'empty.secret' is empty");
    expect_error(parse(with(minimal(), "/intune/client_secret", json{{"file", "none.secret"}})),
                 "config error: /intune/client_secret: cannot read file 'none.secret': No such file or directory");
}

BOOST_AUTO_TEST_CASE(bad_secret_shapes) {
    expect_error(parse(with(minimal(), "/intune/client_secret", json{{"env", "A"}, {"file", "b"}})),
                 "config error: /intune/client_secret: give either \"env\" or \"file\", not both");
    expect_error(parse(with(minimal(), "/intune/client_secret", json::object())),
                 "config error: /intune/client_secret: needs \"env\" or \"file\"");
    expect_error(parse(with(minimal(), "/intune/client_secret", json{{"vault", "x"}})),
                 "config error: /intune/client_secret/vault: unknown key");
    expect_error_like(parse(with(minimal(), "/intune/client_secret", 42)), "/intune/client_secret",
                      "expected {\"env\"");
}

BOOST_AUTO_TEST_CASE(literal_secret_is_a_warning_without_the_value) {
    auto r = parse(with(minimal(), "/intune/client_secret", "Very$ecretValue"));
    expect_ok(r);
    if (!r.config) return;
    BOOST_TEST(r.config->intune.client_secret.value == "Very$ecretValue");
    BOOST_TEST(r.config->intune.client_secret.literal);
    BOOST_REQUIRE(r.config->warnings.size() == 1u);
    BOOST_TEST(r.config->warnings[0].rfind("/intune/client_secret: ", 0) == 0u);
    BOOST_TEST(r.config->warnings[0].find("Very$ecret") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(secrets_never_appear_in_errors) {
    auto doc = with(minimal(), "/intune/client_secret", "Very$ecretValue");
    doc = with(doc, "/intune/auth", "password");  // username, password missing
    doc = with(doc, "/workers", -1);
    auto r = parse(doc);
    BOOST_TEST(!r.config.has_value());
    BOOST_TEST(!r.errors.empty());
    for (const auto& e : r.errors) BOOST_TEST(e.find("Very$ecret") == std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(auth_modes)

BOOST_AUTO_TEST_CASE(client_secret_needs_the_secret) {
    expect_error(parse(without(minimal(), "/intune", "client_secret")),
                 "config error: /intune/client_secret: is required with auth \"client_secret\"");
}

BOOST_AUTO_TEST_CASE(certificate_needs_certificate_and_matching_key) {
    auto doc = without(with(minimal(), "/intune/auth", "certificate"), "/intune", "client_secret");
    auto r = parse(doc);
    expect_error(r, "config error: /intune/client_certificate: is required with auth \"certificate\"");
    expect_error(r, "config error: /intune/client_private_key: is required with auth \"certificate\"");

    doc = with(doc, "/intune/client_certificate", "intune-app.crt");
    auto good = parse(with(doc, "/intune/client_private_key", "intune-app.key"));
    expect_ok(good);
    if (good.config) {
        BOOST_TEST((good.config->intune.auth == ig::AuthMode::Certificate));
        BOOST_TEST(good.config->intune.client_certificate == pki() / "intune-app.crt");
        BOOST_TEST(good.config->intune.client_private_key == pki() / "intune-app.key");
    }
    expect_error(parse(with(doc, "/intune/client_private_key", "server.key")),
                 "config error: /intune/client_private_key: the private key in 'server.key' does not match the "
                 "certificate in 'intune-app.crt'");
    expect_error(parse(with(doc, "/intune/client_private_key", "missing.key")),
                 "config error: /intune/client_private_key: cannot read file 'missing.key': No such file or directory");
}

BOOST_AUTO_TEST_CASE(certificate_mode_takes_rsa_keys_only) {
    // Entra ID accepts certificate credentials with RSA keys only: an EC key is a config error that
    // names the key's path, not a token error at run time.
    auto doc = without(with(minimal(), "/intune/auth", "certificate"), "/intune", "client_secret");
    doc = with(doc, "/intune/client_certificate", "device-compliant.crt");
    auto r = parse(with(doc, "/intune/client_private_key", "device-compliant.key"));
    expect_error_like(r, "/intune/client_private_key", "RSA keys only");
    expect_error_like(r, "/intune/client_private_key", "'device-compliant.key' holds EC key");
}

BOOST_AUTO_TEST_CASE(assertion_algorithm_ps256_by_default_rs256_on_request) {
    auto doc = without(with(minimal(), "/intune/auth", "certificate"), "/intune", "client_secret");
    doc = with(doc, "/intune/client_certificate", "intune-app.crt");
    doc = with(doc, "/intune/client_private_key", "intune-app.key");
    auto r = parse(doc);
    expect_ok(r);
    if (r.config) BOOST_TEST((r.config->intune.assertion_algorithm == ig::AssertionAlgorithm::PS256));
    r = parse(with(doc, "/intune/assertion_algorithm", "RS256"));
    expect_ok(r);
    if (r.config) BOOST_TEST((r.config->intune.assertion_algorithm == ig::AssertionAlgorithm::RS256));
    expect_error(parse(with(doc, "/intune/assertion_algorithm", "ES256")),
                 "config error: /intune/assertion_algorithm: must be one of \"PS256\", \"RS256\", got \"ES256\"");
    auto w = parse(with(minimal(), "/intune/assertion_algorithm", "RS256"));
    expect_ok(w);
    if (w.config) BOOST_TEST(w.config->warnings.size() == 1u);
}

BOOST_AUTO_TEST_CASE(password_needs_secret_username_and_password) {
    auto doc = with(minimal(), "/intune/auth", "password");
    auto r = parse(doc);
    expect_error(r, "config error: /intune/username: is required with auth \"password\"");
    expect_error(r, "config error: /intune/password: is required with auth \"password\"");
    doc = with(doc, "/intune/username", "svc@contoso.example");
    doc = with(doc, "/intune/password", json{{"env", "IG_TEST_SECRET"}});
    auto good = parse(doc);
    expect_ok(good);
    if (good.config) {
        BOOST_TEST(good.config->intune.username == "svc@contoso.example");
        BOOST_TEST(good.config->intune.password.value == "env-s3cret-value");
    }
    expect_error(parse(without(doc, "/intune", "client_secret")),
                 "config error: /intune/client_secret: is required with auth \"password\"");
}

BOOST_AUTO_TEST_CASE(keys_of_another_mode_are_warned_about) {
    auto r = parse(with(minimal(), "/intune/username", "someone"));
    expect_ok(r);
    if (r.config) {
        BOOST_REQUIRE(r.config->warnings.size() == 1u);
        BOOST_TEST(r.config->warnings[0] == "/intune/username: is not used with auth \"client_secret\"");
    }
}

BOOST_AUTO_TEST_CASE(ids) {
    expect_error_like(parse(with(minimal(), "/intune/client_id", "not-a-guid")), "/intune/client_id", "a GUID");
    expect_error_like(parse(with(minimal(), "/intune/tenant_id", "a/b")), "/intune/tenant_id", "GUID or domain name");
}

// The tenant is a path segment of the token URL: a dot segment ("." or "..") would change the path,
// so only a GUID or a DNS domain name (LDH labels, single dots, two labels or more) passes.
BOOST_AUTO_TEST_CASE(tenant_id_is_a_guid_or_a_domain_name) {
    for (const auto& good :
         std::vector<std::string>{"ok.example.com", "contoso.onmicrosoft.com", "11111111-2222-4333-8444-555555555555",
                                  "AAAAAAAA-BBBB-4CCC-8DDD-EEEEEEEEEEEE", "x-1.a2.io", std::string(63, 'a') + ".com"}) {
        auto r = parse(with(minimal(), "/intune/tenant_id", good));
        BOOST_TEST(r.errors.empty(), good << ": " << all(r));
        if (r.config) BOOST_TEST(r.config->intune.tenant_id == good);
    }
    for (const auto& bad :
         std::vector<std::string>{".", "..", "a..b", ".x", "x.", "-a.com", "a-.com", "a.-b.com", "a_b.com", "contoso",
                                  "a.b/c", "a.b%2e", std::string(64, 'a') + ".com",
                                  "11111111-2222-4333-8444-55555555555g", "{11111111-2222-4333-8444-555555555555}"}) {
        auto r = parse(with(minimal(), "/intune/tenant_id", bad));
        BOOST_TEST(!r.config.has_value(), bad);
        expect_error_like(r, "/intune/tenant_id", "must be the tenant's GUID or domain name");
    }
    std::string long_name;
    while (long_name.size() < 250) long_name += "abcdefghi.";
    long_name += "com";  // 253 characters pass, 254 do not
    BOOST_TEST(parse(with(minimal(), "/intune/tenant_id", long_name.substr(long_name.size() - 253))).errors.empty());
    expect_error_like(parse(with(minimal(), "/intune/tenant_id", "a" + long_name.substr(long_name.size() - 253))),
                      "/intune/tenant_id", "GUID or domain name");
    // The multi-tenant names are refused with their own reason: the gateway reads one tenant's devices.
    expect_error(parse(with(minimal(), "/intune/tenant_id", "organizations")),
                 "config error: /intune/tenant_id: \"organizations\" names no single tenant; give the tenant's GUID "
                 "or domain name");
    expect_error_like(parse(with(minimal(), "/intune/tenant_id", "Common")), "/intune/tenant_id", "no single tenant");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(graph_fidelity)

BOOST_AUTO_TEST_CASE(device_properties_must_exist_in_graph_v1) {
    // ownerType exists only in beta: $select of it on v1.0 is a 400, so every lookup would be Error.
    auto doc = with(minimal(), "/intune/save_device_properties", true);
    auto r = parse(
        with(doc, "/intune/device_properties", json::array({"deviceName", "ownerType", "@odata.type", "noSuchThing"})));
    expect_error(r,
                 "config error: /intune/device_properties/1: \"ownerType\" is not a property of managedDevice "
                 "in Microsoft Graph v1.0; the v1.0 property is \"managedDeviceOwnerType\"");
    expect_error_like(r, "/intune/device_properties/2", "is not a property of managedDevice");
    expect_error_like(r, "/intune/device_properties/3", "is not a property of managedDevice");
    BOOST_TEST(r.errors.size() == 3u, all(r));
    // v1.0 names pass; Graph's spelling is kept whatever the case written.
    auto ok = parse(with(doc, "/intune/device_properties",
                         json::array({"managedDeviceOwnerType", "devicename", "azureADDeviceId", "complianceState"})));
    expect_ok(ok);
    if (ok.config)
        BOOST_TEST(
            (ok.config->intune.device_properties ==
             std::vector<std::string>{"managedDeviceOwnerType", "deviceName", "azureADDeviceId", "complianceState"}));
    expect_error_like(parse(with(doc, "/intune/device_properties", json::array({"deviceName", "DeviceName"}))),
                      "/intune/device_properties/1", "listed twice");
}

BOOST_AUTO_TEST_CASE(header_caps) {
    auto r = parse(minimal());
    expect_ok(r);
    if (r.config) {
        BOOST_TEST(r.config->intune.max_apps_header_bytes == 8192u);
        BOOST_TEST(r.config->intune.max_device_header_bytes == 8192u);
    }
    r = parse(with(with(minimal(), "/intune/max_apps_header_bytes", 4000), "/intune/max_device_header_bytes", 2000));
    expect_ok(r);
    if (r.config) {
        BOOST_TEST(r.config->intune.max_apps_header_bytes == 4000u);
        BOOST_TEST(r.config->intune.max_device_header_bytes == 2000u);
    }
    expect_error_like(parse(with(minimal(), "/intune/max_apps_header_bytes", 10)), "/intune/max_apps_header_bytes", "");
    expect_error_like(parse(with(minimal(), "/intune/max_device_header_bytes", 1 << 20)),
                      "/intune/max_device_header_bytes", "");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(urls)

BOOST_AUTO_TEST_CASE(login_and_graph_must_be_https_origins) {
    expect_error(parse(with(minimal(), "/intune/login_url", "http://login.microsoftonline.com")),
                 "config error: /intune/login_url: must be an https URL: \"http://login.microsoftonline.com\"");
    expect_error(parse(with(minimal(), "/intune/graph_url", "https://graph.microsoft.com/v1.0")),
                 "config error: /intune/graph_url: must not have a path: \"https://graph.microsoft.com/v1.0\"");
    expect_error(parse(with(minimal(), "/intune/graph_url", "https://graph.microsoft.com?x=1")),
                 "config error: /intune/graph_url: must not have a query: \"https://graph.microsoft.com?x=1\"");
    expect_error(parse(with(minimal(), "/intune/graph_url", "https://")),
                 "config error: /intune/graph_url: needs a host: \"https://\"");
    expect_error(parse(with(minimal(), "/intune/graph_url", "graph.microsoft.com")),
                 "config error: /intune/graph_url: is not an absolute URL: \"graph.microsoft.com\"");
    expect_error_like(parse(with(minimal(), "/intune/login_url", "https://user:pw@login.example")), "/intune/login_url",
                      "must not contain user info");
}

BOOST_AUTO_TEST_CASE(upstream_url) {
    auto r = parse(with(minimal(), "/upstream/url", "https://up.example:8444"));
    expect_ok(r);
    if (r.config) {
        BOOST_TEST(r.config->upstream.tls);
        BOOST_TEST(r.config->upstream.host == "up.example");
        BOOST_TEST(r.config->upstream.port == 8444);
    }
    auto plain = parse(with(minimal(), "/upstream/url", "http://backend.internal"));
    expect_ok(plain);
    if (plain.config) BOOST_TEST(plain.config->upstream.port == 80);
    expect_error(parse(with(minimal(), "/upstream/url", "ftp://up.example")),
                 "config error: /upstream/url: must be an http or https URL: \"ftp://up.example\"");
    expect_error(parse(with(minimal(), "/upstream/url", "http://up.example:0")),
                 "config error: /upstream/url: has an invalid port (1-65535): \"http://up.example:0\"");
    expect_error(parse(with(minimal(), "/upstream/url", "http://up.example:99999")),
                 "config error: /upstream/url: has an invalid port (1-65535): \"http://up.example:99999\"");
    expect_error_like(parse(with(minimal(), "/upstream/url", "http://up.exa\r\nmple")), "/upstream/url",
                      "must not contain control characters");
}

BOOST_AUTO_TEST_CASE(trusted_peers) {
    expect_error(parse(with(minimal(), "/device_id/trusted_peers", json::array({"10.0.0.1/8"}))),
                 "config error: /device_id/trusted_peers/0: has bits set past its prefix length: \"10.0.0.1/8\"");
    expect_error_like(parse(with(minimal(), "/device_id/trusted_peers", json{"10.0.0.0/8", "10.0.0.0/33"})),
                      "/device_id/trusted_peers/1", "invalid prefix length");
    expect_error_like(parse(with(minimal(), "/device_id/trusted_peers", json::array({"proxy.local"}))),
                      "/device_id/trusted_peers/0", "is not a CIDR");
    expect_error_like(parse(with(minimal(), "/device_id/trusted_peers", json::array({"fd00::/129"}))),
                      "/device_id/trusted_peers/0", "invalid prefix length");
    auto r = parse(with(minimal(), "/device_id/trusted_peers", json{"fd00::/8", "0.0.0.0/0"}));
    expect_ok(r);
    if (r.config) {
        namespace ip = boost::asio::ip;
        const auto& peers = r.config->device_id.trusted_peers;
        BOOST_TEST(peers[0].text == "fd00::/8");
        BOOST_TEST((std::get<ip::network_v6>(peers[0].network) == ip::make_network_v6("fd00::/8")));
        BOOST_TEST((std::get<ip::network_v4>(peers[1].network) == ip::make_network_v4("0.0.0.0/0")));
    }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(device_id)

BOOST_AUTO_TEST_CASE(sources) {
    expect_error(parse(with(minimal(), "/device_id/sources", json::array())),
                 "config error: /device_id/sources: must name at least one source");
    expect_error(parse(with(minimal(), "/device_id/sources", json{"san_uri", "san_uri"})),
                 "config error: /device_id/sources/1: \"san_uri\" is listed twice");
    expect_error(
        parse(with(minimal(), "/device_id/sources", json::array({"dns"}))),
        "config error: /device_id/sources/0: must be one of \"san_uri\", \"subject_cn\", \"header\", got \"dns\"");
}

BOOST_AUTO_TEST_CASE(header_name) {
    expect_error(parse(with(minimal(), "/device_id/header", "Bad Header")),
                 "config error: /device_id/header: is not a valid header name: \"Bad Header\"");
    expect_error(parse(with(minimal(), "/device_id/header", "Content-Length")),
                 "config error: /device_id/header: \"Content-Length\" is a header the gateway or HTTP itself sets");
    expect_error_like(parse(with(minimal(), "/device_id/header", "X-Intune-Outcome")), "/device_id/header",
                      "is a header the gateway");
    expect_error_like(parse(with(minimal(), "/device_id/san_uri_scheme", "1bad://")), "/device_id/san_uri_scheme",
                      "is not a valid URI scheme");
}

BOOST_AUTO_TEST_CASE(lookup_names_the_id_the_certificates_carry) {
    auto def = parse(minimal());
    BOOST_REQUIRE(def.config);
    BOOST_TEST((def.config->intune.lookup == ig::DeviceLookup::Intune));
    for (auto [name, mode] :
         {std::pair{"intune", ig::DeviceLookup::Intune}, std::pair{"entra", ig::DeviceLookup::Entra},
          std::pair{"either", ig::DeviceLookup::Either}}) {
        auto r = parse(with(minimal(), "/device_id/lookup", name));
        BOOST_REQUIRE(r.config);
        BOOST_TEST((r.config->device_id.lookup == mode));
        BOOST_TEST((r.config->intune.lookup == mode));  // what the compliance core reads
    }
    expect_error_like(parse(with(minimal(), "/device_id/lookup", "aad")), "/device_id/lookup", "must be one of");
    expect_error_like(parse(with(minimal(), "/device_id/lookup", 1)), "/device_id/lookup", "");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(outcomes)

BOOST_AUTO_TEST_CASE(unknown_outcome_and_action) {
    expect_error_like(parse(with(minimal(), "/outcomes/compliant", json{{"action", "forward"}})), "/outcomes/compliant",
                      "unknown outcome");
    expect_error(parse(with(minimal(), "/outcomes/NoId", json::object())),
                 "config error: /outcomes/NoId/action: is required (\"forward\", \"reject\" or \"redirect\")");
    expect_error(
        parse(with(minimal(), "/outcomes/NoId", json{{"action", "drop"}})),
        "config error: /outcomes/NoId/action: must be one of \"forward\", \"reject\", \"redirect\", got \"drop\"");
    expect_error(parse(with(minimal(), "/outcomes/NoId", json{{"action", "reject"}, {"headers", json::object()}})),
                 "config error: /outcomes/NoId/headers: unknown key");
}

BOOST_AUTO_TEST_CASE(reject_status) {
    expect_error(parse(with(minimal(), "/outcomes/NoId", json{{"action", "reject"}, {"status", 399}})),
                 "config error: /outcomes/NoId/status: must be between 400 and 599, got 399");
    expect_error(parse(with(minimal(), "/outcomes/NoId", json{{"action", "reject"}, {"status", 600}})),
                 "config error: /outcomes/NoId/status: must be between 400 and 599, got 600");
    auto r = parse(with(minimal(), "/outcomes/NoId", json{{"action", "reject"}}));
    expect_ok(r);
    if (r.config) BOOST_TEST(r.config->action_for(ig::Outcome::NoId).status == 403u);
}

BOOST_AUTO_TEST_CASE(redirect_fields) {
    expect_error(parse(with(minimal(), "/outcomes/NotCompliant", json{{"action", "redirect"}})),
                 "config error: /outcomes/NotCompliant/location: is required with action \"redirect\"");
    expect_error(
        parse(with(minimal(), "/outcomes/NotCompliant", json{{"action", "redirect"}, {"location", "/portal"}})),
        "config error: /outcomes/NotCompliant/location: is not an absolute URL");
    expect_error(parse(with(minimal(), "/outcomes/NotCompliant",
                            json{{"action", "redirect"}, {"location", "https://a.example/\r\nSet-Cookie: x"}})),
                 "config error: /outcomes/NotCompliant/location: must not contain control characters");
    expect_error(parse(with(minimal(), "/outcomes/NotCompliant",
                            json{{"action", "redirect"}, {"location", "javascript:alert(1)"}})),
                 "config error: /outcomes/NotCompliant/location: must be an http or https URL");
    expect_error(parse(with(minimal(), "/outcomes/NotCompliant",
                            json{{"action", "redirect"}, {"location", "https://a.example/"}, {"status", 304}})),
                 "config error: /outcomes/NotCompliant/status: must be 301, 302, 303, 307 or 308, got 304");
    auto r = parse(with(minimal(), "/outcomes/NotCompliant",
                        json{{"action", "redirect"}, {"location", "https://a.example/"}, {"status", 308}}));
    expect_ok(r);
    if (r.config) BOOST_TEST(r.config->action_for(ig::Outcome::NotCompliant).status == 308u);
}

BOOST_AUTO_TEST_CASE(forward_headers) {
    auto forward = [](json headers) {
        return with(minimal(), "/outcomes/Compliant", json{{"action", "forward"}, {"headers", std::move(headers)}});
    };
    expect_error(parse(forward({{"Bad Name", "x"}})),
                 "config error: /outcomes/Compliant/headers/Bad Name: is not a valid header name");
    for (std::string reserved : {"Host", "content-length", "Transfer-Encoding", "Connection", "X-Intune-Anything",
                                 "X-Forwarded-For", "x-forwarded-proto", "X-Request-Id", "X-Intune-Device-Id"})
        expect_error(parse(forward({{reserved, "1"}})),
                     "config error: /outcomes/Compliant/headers/" + reserved +
                         ": is a header the gateway or HTTP itself sets; it cannot be configured");
    // The configured device_id.header is the gateway's too.
    auto doc = with(forward({{"X-Device", "1"}}), "/device_id/header", "X-Device");
    expect_error_like(parse(doc), "/outcomes/Compliant/headers/X-Device", "is a header the gateway");
    expect_error(parse(forward({{"X-Ok", "a\r\nX-Evil: 1"}})),
                 "config error: /outcomes/Compliant/headers/X-Ok: value must not contain CR, LF, NUL or other control "
                 "characters");
    expect_error_like(parse(forward({{"X-Ok", std::string("a\0b", 3)}})), "/outcomes/Compliant/headers/X-Ok",
                      "must not contain CR, LF, NUL");
    expect_error(parse(forward({{"X-Tier", "a"}, {"x-tier", "b"}})),
                 "config error: /outcomes/Compliant/headers/x-tier: is given twice (header names ignore case)");
    expect_error(parse(forward({{"X-Level", 2}})),
                 "config error: /outcomes/Compliant/headers/X-Level: expected a string, got number");
    expect_error(parse(with(minimal(), "/outcomes/Compliant", json{{"action", "forward"}, {"headers", "X-A: 1"}})),
                 "config error: /outcomes/Compliant/headers: expected an object, got string");
    expect_error(parse(with(minimal(), "/outcomes/Compliant", json{{"action", "forward"}, {"status", 200}})),
                 "config error: /outcomes/Compliant/status: unknown key");
}

BOOST_AUTO_TEST_CASE(left_out_outcomes_get_defaults) {
    auto r = parse(with(minimal(), "/outcomes", json{{"Compliant", {{"action", "reject"}, {"status", 451}}}}));
    expect_ok(r);
    if (!r.config) return;
    BOOST_TEST((r.config->action_for(ig::Outcome::Compliant).action == ig::Action::Reject));
    BOOST_TEST(r.config->action_for(ig::Outcome::Compliant).status == 451u);
    BOOST_TEST((r.config->action_for(ig::Outcome::InGracePeriod).action == ig::Action::Reject));
    BOOST_TEST(r.config->action_for(ig::Outcome::InGracePeriod).status == 403u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_CASE(deny_page_help_and_help_url) {
    auto reject = [](json extra) {
        json o{{"action", "reject"}, {"status", 403}};
        o.update(extra);
        return with(minimal(), "/outcomes/NotCompliant", o);
    };
    auto r = parse(reject({{"help", "Open Company Portal.\nThen try again."},
                           {"help_url", "https://portal.manage.microsoft.com/devices?x=1"}}));
    expect_ok(r);
    if (r.config) {
        BOOST_TEST(r.config->action_for(ig::Outcome::NotCompliant).help == "Open Company Portal.\nThen try again.");
        BOOST_TEST(r.config->action_for(ig::Outcome::NotCompliant).help_url ==
                   "https://portal.manage.microsoft.com/devices?x=1");
    }
    expect_error(parse(reject({{"help_url", "http://portal.example/"}})),
                 "config error: /outcomes/NotCompliant/help_url: must be an https URL: \"http://portal.example/\"");
    expect_error(parse(reject({{"help_url", "javascript:alert(1)"}})),
                 "config error: /outcomes/NotCompliant/help_url: must be an https URL: \"javascript:alert(1)\"");
    expect_error(
        parse(reject({{"help", "a\rb"}})),
        "config error: /outcomes/NotCompliant/help: must not contain control characters other than a line break");
    expect_error(parse(reject({{"help", std::string(2001, 'x')}})),
                 "config error: /outcomes/NotCompliant/help: is longer than 2000 bytes");
    // help belongs to the deny page of a reject.
    expect_error(parse(with(minimal(), "/outcomes/NotCompliant",
                            json{{"action", "redirect"}, {"location", "https://a.example/"}, {"help", "x"}})),
                 "config error: /outcomes/NotCompliant/help: unknown key");
}

BOOST_AUTO_TEST_CASE(redirect_location_placeholders) {
    auto redirect = [](std::string location) {
        return parse(with(minimal(), "/outcomes/NotCompliant", json{{"action", "redirect"}, {"location", location}}));
    };
    auto r = redirect("https://portal.example/blocked?id={request_id}&return={return_url}");
    expect_ok(r);
    if (r.config)
        BOOST_TEST(r.config->action_for(ig::Outcome::NotCompliant).location ==
                   "https://portal.example/blocked?id={request_id}&return={return_url}");
    expect_error(redirect("https://portal.example/?u={user}"),
                 "config error: /outcomes/NotCompliant/location: unknown placeholder \"{user}\" (the placeholders are "
                 "{request_id} and {return_url})");
}

BOOST_AUTO_TEST_CASE(admin_token) {
    auto doc = with(minimal(), "/admin",
                    json{{"address", "127.0.0.1"}, {"port", 9901}, {"token", {{"env", "IG_TEST_SECRET"}}}});
    auto r = parse(doc);
    expect_ok(r);
    if (r.config) {
        BOOST_REQUIRE(r.config->admin.token.has_value());
        BOOST_TEST(r.config->admin.token->value == "env-s3cret-value");
    }
    auto none = parse(with(minimal(), "/admin", json{{"port", 9901}}));
    expect_ok(none);
    if (none.config) BOOST_TEST(!none.config->admin.token.has_value());
    expect_error(parse(with(minimal(), "/admin", json{{"token", {{"env", "IG_TEST_UNSET_TOKEN"}}}})),
                 "config error: /admin/token: environment variable IG_TEST_UNSET_TOKEN is not set");
    expect_error(parse(with(minimal(), "/admin", json{{"tokn", "x"}})), "config error: /admin/tokn: unknown key");
    expect_error(parse(with(minimal(), "/admin", json{{"token", "two words"}})),
                 "config error: /admin/token: must not contain spaces or control characters");
}

BOOST_AUTO_TEST_CASE(pages_dir_reads_pages_once_and_checks_them) {
    const auto dir = pki() / "pages";
    fs::remove_all(dir);
    write(dir / "NotCompliant.html", "<p>{{outcome}} {{request_id}} {{reason}} {{help}} {{help_url}} {{time}}</p>");
    auto r = parse(with(minimal(), "/pages_dir", "pages"));
    expect_ok(r);
    if (r.config) {
        BOOST_TEST(r.config->pages_dir.value() == dir);
        const auto& page = r.config->action_for(ig::Outcome::NotCompliant).page;
        BOOST_REQUIRE(page != nullptr);
        BOOST_TEST(page->pieces.size() == 13u);  // 6 fields, 7 literals
        BOOST_TEST(r.config->action_for(ig::Outcome::NoId).page == nullptr);
    }
    write(dir / "Noncompliant.html", "x");
    expect_error(
        parse(with(minimal(), "/pages_dir", "pages")),
        "config error: /pages_dir: 'Noncompliant.html' does not name an outcome (pages are <Outcome>.html, e.g. "
        "NotCompliant.html)");
    fs::remove(dir / "Noncompliant.html");
    write(dir / "NoId.html", "<p>{{ request_id }}</p>");
    expect_error_like(parse(with(minimal(), "/pages_dir", "pages")), "/pages_dir",
                      "'NoId.html': unknown placeholder at byte 3");
    fs::remove(dir / "NoId.html");
    expect_error_like(parse(with(minimal(), "/pages_dir", "missing-pages")), "/pages_dir", "is not a readable folder");
    fs::remove_all(dir);
}
// intune.shared_cache, intune.sync and intune.stale_if_error_s (shared state across instances).
BOOST_AUTO_TEST_SUITE(shared_state)

BOOST_AUTO_TEST_CASE(defaults_are_off) {
    auto r = parse(minimal());
    expect_ok(r);
    if (!r.config) return;
    const auto& c = r.config->intune;
    BOOST_TEST(!c.shared_cache.enabled);
    BOOST_TEST(c.sync.interval.count() == 0);
    BOOST_TEST(c.sync.page_size == 1000u);
    BOOST_TEST(c.stale_if_error.count() == 0);
}

BOOST_AUTO_TEST_CASE(every_key_is_read) {
    ::setenv("IG_TEST_REDIS_PASSWORD", "redis-s3cret", 1);
    auto doc = with(minimal(), "/intune/shared_cache",
                    {{"redis", "rediss://cache.example:6380/3"},
                     {"password", {{"env", "IG_TEST_REDIS_PASSWORD"}}},
                     {"key_prefix", "site-a:"},
                     {"timeout_ms", 25}});
    doc = with(doc, "/intune/sync", {{"interval_s", 600}, {"page_size", 500}, {"changes_interval_s", 60}});
    doc = with(doc, "/intune/stale_if_error_s", 3600);
    auto r = parse(doc);
    expect_ok(r);
    if (!r.config) return;
    const auto& c = r.config->intune;
    BOOST_TEST(c.shared_cache.enabled);
    BOOST_TEST(c.shared_cache.tls);
    BOOST_TEST(c.shared_cache.host == "cache.example");
    BOOST_TEST(c.shared_cache.port == 6380);
    BOOST_TEST(c.shared_cache.database == 3u);
    BOOST_TEST(c.shared_cache.password.value == "redis-s3cret");
    BOOST_TEST(c.shared_cache.key_prefix == "site-a:");
    BOOST_TEST(c.shared_cache.timeout.count() == 25);
    BOOST_TEST(c.sync.interval.count() == 600);
    BOOST_TEST(c.sync.page_size == 500u);
    BOOST_TEST(c.sync.changes_interval.count() == 60);
    BOOST_TEST(c.stale_if_error.count() == 3600);
}

BOOST_AUTO_TEST_CASE(plain_redis_url_defaults) {
    auto r = parse(with(minimal(), "/intune/shared_cache", {{"redis", "redis://127.0.0.1"}, {"password", nullptr}}));
    expect_ok(r);
    if (!r.config) return;
    const auto& s = r.config->intune.shared_cache;
    BOOST_TEST(!s.tls);
    BOOST_TEST(s.port == 6379);
    BOOST_TEST(s.database == 0u);
    BOOST_TEST(s.password.value.empty());
    BOOST_TEST(s.key_prefix == "intune-gate:");
    BOOST_TEST(s.timeout.count() == 10);
}

BOOST_AUTO_TEST_CASE(bad_values_name_their_path) {
    auto sc = [](json v) { return parse(with(minimal(), "/intune/shared_cache", std::move(v))); };
    expect_error_like(sc({{"redis", "http://cache:6379"}}), "/intune/shared_cache/redis", "redis:// or rediss://");
    expect_error_like(sc({{"redis", "redis://:hunter2@cache:6379"}}), "/intune/shared_cache/redis",
                      "must not contain user info");
    auto r = sc({{"redis", "redis://:hunter2@cache:6379"}});
    BOOST_TEST(all(r).find("hunter2") == std::string::npos);  // a password in the URL is not echoed
    expect_error_like(sc({{"redis", "redis://cache:0"}}), "/intune/shared_cache/redis", "invalid port");
    expect_error_like(sc({{"redis", "redis://cache/x"}}), "/intune/shared_cache/redis", "database number");
    expect_error(sc(json::object()),
                 "config error: /intune/shared_cache/redis: is required (redis://host:port/db or rediss://...)");
    expect_error(sc({{"redis", "redis://c"}, {"pasword", "x"}}),
                 "config error: /intune/shared_cache/pasword: unknown key");
    expect_error_like(sc({{"redis", "redis://c"}, {"key_prefix", "a b"}}), "/intune/shared_cache/key_prefix",
                      "visible ASCII");
    expect_error(sc({{"redis", "redis://c"}, {"timeout_ms", 0}}),
                 "config error: /intune/shared_cache/timeout_ms: must be between 1 and 10000, got 0");
    expect_error_like(sc({{"redis", "redis://c"}, {"password", {{"env", "IG_TEST_NOT_SET_ANYWHERE"}}}}),
                      "/intune/shared_cache/password", "is not set");
    expect_error(sc("redis://c"), "config error: /intune/shared_cache: expected an object, got string");
    expect_error(parse(with(minimal(), "/intune/sync", {{"page_size", 0}})),
                 "config error: /intune/sync/page_size: must be between 1 and 1000, got 0");
    expect_error(parse(with(minimal(), "/intune/sync", {{"interval_s", -1}})),
                 "config error: /intune/sync/interval_s: must be between 0 and 86400, got -1");
    expect_error(parse(with(minimal(), "/intune/sync", {{"every", 1}})),
                 "config error: /intune/sync/every: unknown key");
    // The changes sync runs between full syncs only (README: sync.changes_interval_s).
    const std::string not_less =
        "config error: /intune/sync/changes_interval_s: must be less than sync.interval_s (and sync.interval_s > 0)";
    expect_error(parse(with(minimal(), "/intune/sync", {{"interval_s", 600}, {"changes_interval_s", 600}})), not_less);
    expect_error(parse(with(minimal(), "/intune/sync", {{"changes_interval_s", 60}})), not_less);
    expect_error(parse(with(minimal(), "/intune/sync", {{"interval_s", 600}, {"changes_interval_s", -1}})),
                 "config error: /intune/sync/changes_interval_s: must be between 0 and 86400, got -1");
    expect_error(parse(with(minimal(), "/intune/stale_if_error_s", "1h")),
                 "config error: /intune/stale_if_error_s: expected an integer, got string");
}

// intune.recheck_interval_s: "Check again" (README), 60 s unless set, never 0 (every click a Graph call).
BOOST_AUTO_TEST_CASE(recheck_interval) {
    auto r = parse(minimal());
    expect_ok(r);
    if (r.config) BOOST_TEST(r.config->intune.recheck_interval.count() == 60);
    r = parse(with(minimal(), "/intune/recheck_interval_s", 300));
    expect_ok(r);
    if (r.config) BOOST_TEST(r.config->intune.recheck_interval.count() == 300);
    expect_error(parse(with(minimal(), "/intune/recheck_interval_s", 0)),
                 "config error: /intune/recheck_interval_s: must be between 1 and 86400, got 0");
    expect_error(parse(with(minimal(), "/intune/recheck_interval_s", "60")),
                 "config error: /intune/recheck_interval_s: expected an integer, got string");
}

BOOST_AUTO_TEST_SUITE_END()
