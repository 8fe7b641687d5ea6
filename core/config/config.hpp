#pragma once
// The configuration model (docs/configuration.md). load_config() fills every default, resolves relative paths
// against the config file's folder, resolves secrets and reports every problem at once as
// "config error: <JSON path>: <what is wrong>".
#include "core/identity/cidr.hpp"
#include "core/policy/policy.hpp"
#include "core/text/page_template.hpp"
#include "core/verdict/outcome.hpp"

#include <nlohmann/json_fwd.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ig {

// A resolved secret. `value` never goes to a log; `origin` says where it came from ("env INTUNE_CLIENT_SECRET").
struct Secret {
    std::string value;
    std::string origin;
    bool literal = false;  // given inline in the config file (demo only; warned about)

    bool operator==(const Secret&) const = default;
};

struct ListenConfig {
    bool enabled = true;  // "listen": null turns the mTLS front end off (plugin-only deployment)
    std::string address = "0.0.0.0";
    std::uint16_t port = 8443;
};

struct TlsConfig {
    std::filesystem::path certificate;
    std::filesystem::path private_key;
    std::filesystem::path client_ca;
    std::optional<std::filesystem::path> crl;
    bool client_certificate_required = true;  // "required" | "optional"
    std::string min_version = "1.2";  // "1.2" | "1.3"
    std::size_t session_cache = 10000;  // sessions kept for resumption (0: none)
    std::chrono::seconds session_timeout{300};  // how long a session can be resumed
};

enum class IdSource { SanUri, SubjectCn, Header };

// Which ID a certificate carries (README: `device_id.lookup`): Intune's device ID, the Entra ID
// device ID (found through Graph's azureADDeviceId filter), or either (Intune first).
enum class DeviceLookup { Intune, Entra, Either };

struct DeviceIdConfig {
    std::vector<IdSource> sources{IdSource::SanUri, IdSource::SubjectCn};
    std::string san_uri_scheme = "IntuneDeviceId";
    std::string header = "X-Intune-Device-Id";
    std::vector<Cidr> trusted_peers;
    DeviceLookup lookup = DeviceLookup::Intune;
};

enum class AuthMode { ClientSecret, Certificate, Password };

// The client assertion's signature (certificate grant): PS256 with x5t#S256 (Microsoft's current
// documentation) or RS256 with x5t, the SHA-1 thumbprint (what older MSAL versions send).
enum class AssertionAlgorithm { PS256, RS256 };

// What a cached verdict's expiry was computed with: a change on reload empties the cache.
struct CacheTtls {
    std::chrono::seconds compliant_ttl{300};
    std::chrono::seconds other_ttl{30};

    bool operator==(const CacheTtls&) const = default;
};

struct CacheConfig : CacheTtls {
    std::size_t max_entries = 100000;

    const CacheTtls& ttls() const { return *this; }
};

// A Redis server shared by the instances of a site (verdicts, the single-flight lock, the sync lease).
struct SharedCacheConfig {
    bool enabled = false;  // "shared_cache" given
    std::string url;  // as written, for messages
    bool tls = false;  // rediss://
    std::string host;
    std::uint16_t port = 6379;
    unsigned database = 0;  // the URL's path, /0 by default
    Secret password;  // value empty when none
    std::string key_prefix = "intune-gate:";
    std::chrono::milliseconds timeout{10};  // per Redis operation

    bool operator==(const SharedCacheConfig&) const = default;  // a change means a new Redis client
};

struct SyncConfig {
    std::chrono::seconds interval{0};  // 0 = no bulk sync
    std::size_t page_size = 1000;  // $top
    std::chrono::seconds changes_interval{0};  // 0 = no changes sync between full syncs

    bool operator==(const SyncConfig&) const = default;
};

// IntuneConfig comes in parts whose operator== the compiler writes: a reload compares parts, so a
// field added to a part later is compared too (a stale token or cache cannot outlive its change).

// Whose devices are asked about, and where: a change means new tokens and an empty verdict cache.
struct GraphTenant {
    std::string tenant_id;
    std::string graph_url = "https://graph.microsoft.com";

    bool operator==(const GraphTenant&) const = default;
};

// Who the gateway is toward Entra ID and Graph: a change means a new token and new connections.
struct IntuneConnection : GraphTenant {
    std::string client_id;
    AuthMode auth = AuthMode::ClientSecret;
    Secret client_secret;  // client_secret and password grants
    std::filesystem::path client_certificate;  // certificate grant
    std::filesystem::path client_private_key;  // certificate grant (RSA only: Entra ID's rule)
    AssertionAlgorithm assertion_algorithm = AssertionAlgorithm::PS256;  // certificate grant
    std::string username;  // password grant
    Secret password;  // password grant
    std::string login_url = "https://login.microsoftonline.com";
    std::optional<std::filesystem::path> ca_file;
    std::size_t max_graph_connections = 16;  // requests in flight to one origin (login, Graph) at most

    bool operator==(const IntuneConnection&) const = default;
};

// What shapes a verdict from Graph's answer: a change empties the verdict cache.
struct VerdictRules {
    Outcome device_not_found = Outcome::NotCompliant;
    bool save_device_properties = false;
    std::vector<std::string> device_properties;  // empty = all
    bool save_installed_apps = false;
    // Caps on the header line (name, value, CRLF) of X-Intune-Device and X-Intune-Installed-Apps.
    std::size_t max_device_header_bytes = 8192;
    std::size_t max_apps_header_bytes = 8192;
    DeviceLookup lookup = DeviceLookup::Intune;  // device_id.lookup, copied here for the core

    bool operator==(const VerdictRules&) const = default;
};

// The "intune" object. Its members keep their JSON names; the parts are base classes, so
// config.intune.tenant_id reads as before.
struct IntuneConfig : IntuneConnection, VerdictRules {
    std::chrono::milliseconds timeout{5000};
    CacheConfig cache;
    SharedCacheConfig shared_cache;
    SyncConfig sync;
    std::chrono::seconds stale_if_error{0};  // 0 = fail closed
    std::chrono::seconds recheck_interval{60};  // "Check again" asks Graph at most once per device per interval
    // The device facts the access policies need ($select, and kept with the verdict). Not a part
    // compared by a reload: a verdict lacking a fact now needed is read again for its device only.
    FactMask facts = 0;

    const GraphTenant& tenant() const { return *this; }
    const IntuneConnection& connection() const { return *this; }
    const VerdictRules& rules() const { return *this; }
};

// An upstream origin, parsed from "http(s)://host[:port][/base]".
struct UpstreamConfig {
    std::string url = "http://127.0.0.1:8080";
    bool tls = false;
    std::string host = "127.0.0.1";
    std::uint16_t port = 8080;
    std::optional<std::filesystem::path> ca_file;
    std::chrono::milliseconds timeout{30000};
};

struct OutcomeAction {
    Action action = Action::Reject;
    unsigned status = 403;  // reject: 400-599, default 403; redirect: 301/302/303/307/308, default 302
    std::string location;  // redirect; may hold {request_id}, {return_url}
    std::vector<std::pair<std::string, std::string>> headers;  // forward
    std::string help;  // reject: what to do, shown on the deny page
    std::string help_url;  // reject: an https URL, linked from the deny page
    std::shared_ptr<const PageTemplate> page;  // reject: <pages_dir>/<Outcome>.html, when given
};

// One entry of "policies" (README: Access policies): the rule and what a failing request gets.
struct PolicyConfig : Policy {
    OutcomeAction deny;  // reject (default 403) or redirect
};

struct LimitsConfig {
    std::size_t max_header_bytes = 16384;
    std::uint64_t max_body_bytes = 10485760;
    std::chrono::seconds handshake_timeout{5};
    std::chrono::seconds header_timeout{10};
    std::chrono::seconds idle_timeout{60};
    std::size_t max_connections = 10000;
    std::size_t max_connections_per_address = 1000;
    std::size_t max_pending_handshakes = 1000;
};

struct AdminConfig {
    bool enabled = true;  // "admin": null disables the listener
    std::string address = "127.0.0.1";
    std::uint16_t port = 9901;
    std::optional<Secret> token;  // when set: "Authorization: Bearer <token>" on all but /healthz, /readyz
};

// The authorization endpoint for reverse proxies (plugin mode); plain HTTP.
struct AuthzConfig {
    bool enabled = false;  // "authz" absent or null: no endpoint
    std::string address = "127.0.0.1";
    std::uint16_t port = 9191;
    std::vector<Cidr> trusted_peers;  // required, non-empty
    std::vector<std::string> certificate_headers{"Client-Cert", "X-Forwarded-Client-Cert",
                                                 "X-Forwarded-Tls-Client-Cert", "X-SSL-Client-Cert"};
    std::optional<std::pair<std::string, std::string>> verify_header;  // name, required value
};

struct Config {
    std::filesystem::path file;  // the config file itself, absolute
    ListenConfig listen;
    unsigned workers = 0;  // 0 = one per core (resolved by the proxy)
    TlsConfig tls;
    DeviceIdConfig device_id;
    IntuneConfig intune;
    UpstreamConfig upstream;
    std::array<OutcomeAction, outcome_count> outcomes;  // indexed by Outcome; defaults filled in
    LimitsConfig limits;
    AdminConfig admin;
    AuthzConfig authz;
    std::optional<std::filesystem::path> pages_dir;  // operator deny pages, read into outcomes[].page
    std::vector<PolicyConfig> policies;  // in order: the first that fits a request applies
    bool policy_hosts = false;  // some policy has match.hosts
    bool policy_paths = false;  // some policy has match.paths: paths are normalised and checked
    std::vector<std::string> warnings;  // e.g. literal secrets; printed by the caller

    const OutcomeAction& action_for(Outcome o) const { return outcomes[static_cast<std::size_t>(o)]; }
};

struct ConfigResult {
    std::optional<Config> config;  // set only when errors is empty
    std::vector<std::string> errors;  // each "config error: <path>: <message>"
};

// Reads and validates the file, including the certificates, keys and secrets it names.
ConfigResult load_config(const std::filesystem::path& file);

// The same from the file's text; relative paths resolve against base_dir. Config::file stays empty.
ConfigResult load_config_text(std::string_view text, const std::filesystem::path& base_dir);

// The same checks on an already-parsed document; relative paths resolve against base_dir.
ConfigResult parse_config(const nlohmann::json& doc, const std::filesystem::path& base_dir);

}  // namespace ig
