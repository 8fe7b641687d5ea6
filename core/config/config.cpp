// The configuration loader (README: Configuration reference): walks the document once, fills the model, and collects
// every problem as "config error: <JSON pointer>: <message>" instead of stopping at the first.
#include "core/config/config.hpp"

#include "core/config/config_pem.hpp"
#include "core/identity/device_id.hpp"
#include "core/text/header_names.hpp"
#include "core/config/json_walk.hpp"
#include "core/graph/managed_device_properties.hpp"
#include "core/graph/origin.hpp"
#include "core/text/outside_json.hpp"
#include "core/text/text.hpp"

#include <boost/url/grammar/ci_string.hpp>
#include <boost/url/ipv4_address.hpp>
#include <boost/url/ipv6_address.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <functional>
#include <initializer_list>
#include <set>
#include <string_view>

namespace ig {
namespace {

namespace fs = std::filesystem;
namespace urls = boost::urls;
using json = nlohmann::json;
using urls::grammar::ci_is_equal;
using namespace std::string_literals;

constexpr std::size_t max_config_bytes = 4 << 20;
constexpr int max_config_depth = 32;  // the schema needs 4
constexpr std::size_t max_secret_bytes = 64 << 10;
constexpr std::size_t max_help_bytes = 2000;
constexpr std::size_t max_page_bytes = 256 << 10;

// RFC 7230 token (header field names).
bool is_token(std::string_view s) {
    if (s.empty()) return false;
    return std::all_of(s.begin(), s.end(), [](char ch) {
        auto c = static_cast<unsigned char>(ch);
        return std::isalnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(ch) != std::string_view::npos;
    });
}

// RFC 7230 field-value: visible characters, space, tab, obs-text; never CR, LF, NUL.
bool is_field_value(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char ch) {
        auto c = static_cast<unsigned char>(ch);
        return c == '\t' || (c >= 0x20 && c != 0x7f);
    });
}

// A DNS domain name of two labels or more (a tenant's verified domain, e.g. contoso.onmicrosoft.com):
// each label 1-63 letters, digits or '-', not starting or ending with '-', joined by single dots.
bool is_domain_name(std::string_view s) {
    if (s.size() > 253 || s.find('.') == std::string_view::npos) return false;
    for (std::size_t start = 0;;) {
        const auto dot = s.find('.', start);
        const auto label = s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
        if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
        if (!std::all_of(label.begin(), label.end(),
                         [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-'; }))
            return false;
        if (dot == std::string_view::npos) return true;
        start = dot + 1;
    }
}

// What is wrong with a tenant_id, empty when fine. It becomes a path segment of the token URL,
// so only what Entra ID takes there passes: the tenant's GUID or one of its domain names.
std::string tenant_id_problem(std::string_view s) {
    if (normalize_guid(s) || is_domain_name(s)) return {};
    for (std::string_view shared : {"common", "organizations", "consumers"})
        if (ci_is_equal(s, shared))
            return in_quotes(s) + " names no single tenant; give the tenant's GUID or domain name";
    return "must be the tenant's GUID or domain name (e.g. contoso.onmicrosoft.com), got " + in_quotes(s);
}

bool is_ip_address(std::string_view s) {
    return urls::parse_ipv4_address(s).has_value() || urls::parse_ipv6_address(s).has_value();
}

// A redirect location with {request_id} and {return_url} replaced by sample values (the form
// the check sees); any other {name} is a problem.
std::string fill_location_placeholders(std::string_view location, std::string& problem) {
    std::string out;
    std::size_t pos = 0;
    while (pos < location.size()) {
        const auto open = location.find('{', pos);
        out.append(location.substr(pos, open == std::string_view::npos ? std::string_view::npos : open - pos));
        if (open == std::string_view::npos) break;
        const auto close = location.find('}', open);
        const auto name =
            close == std::string_view::npos ? std::string_view() : location.substr(open + 1, close - open - 1);
        if (name == "request_id")
            out += "0123456789abcdef0123456789abcdef";
        else if (name == "return_url")
            out += "https%3A%2F%2Fexample.com%2F";
        else {
            problem = "unknown placeholder " +
                      in_quotes(location.substr(open, close == std::string_view::npos ? 20 : close - open + 1)) +
                      " (the placeholders are {request_id} and {return_url})";
            return out;
        }
        pos = close + 1;
    }
    return out;
}

// redis://host[:port][/db] or rediss://...; nullopt when fine. The password never goes in the URL.
std::optional<std::string> parse_redis_url(std::string_view text, SharedCacheConfig& out) {
    if (has_control(text)) return "must not contain control characters";
    auto parsed = urls::parse_absolute_uri(text);
    if (!parsed) return "is not a URL";
    urls::url_view u = *parsed;
    const auto scheme = u.scheme();
    if (!ci_is_equal(scheme, "redis") && !ci_is_equal(scheme, "rediss")) return "must be a redis:// or rediss:// URL";
    if (!u.has_authority() || u.encoded_host().empty() || u.host_type() == urls::host_type::ipvfuture)
        return "needs a host";
    if (u.has_userinfo()) return "must not contain user info (give the password as \"password\", a secret)";
    if (u.has_query() || u.has_fragment()) return "must not have a query or fragment";
    out.host = u.host_address();
    out.port = 6379;
    if (u.has_port()) {
        auto port = parse_port(u.port());
        if (!port) return "has an invalid port (1-65535)";
        out.port = *port;
    }
    std::string_view path = u.encoded_path();
    if (!path.empty() && path != "/") {
        path.remove_prefix(1);
        unsigned db = 0;
        auto [end, ec] = std::from_chars(path.data(), path.data() + path.size(), db);
        if (ec != std::errc() || end != path.data() + path.size() || db > 1000)
            return "has a path that is not a database number (0-1000)";
        out.database = db;
    }
    out.tls = ci_is_equal(scheme, "rediss");
    out.url = std::string(text);
    return std::nullopt;
}

class Loader : public JsonWalk {
public:
    using JsonWalk::JsonWalk;

    std::optional<Secret> secret(const JsonObject& o, std::string_view key);

    void listen(const json* v, const std::string& ptr, std::string& address, std::uint16_t& port);
    void address_port(const JsonObject& o, std::string& address, std::uint16_t& port);
    void tls(const json* v, TlsConfig& out, bool front_end);
    void authz(const json* v, AuthzConfig& out);
    void device_id(const json* v, DeviceIdConfig& out);
    void intune(const json* v, IntuneConfig& out);
    void upstream(const json* v, UpstreamConfig& out);
    void outcomes(const json* v, const std::string& device_id_header, std::array<OutcomeAction, outcome_count>& out);
    void limits(const json* v, LimitsConfig& out);
    void admin(const json* v, Config& out);
    void pages(const json* v, Config& out);
    void shared_cache(const json* v, const std::string& ptr, SharedCacheConfig& out);
    void root(const json& doc, Config& out);

private:
    // The object that holds the grant's keys, and the grant's name for messages.
    struct Grant {
        const JsonObject& o;
        std::string mode;
    };
    void application(const JsonObject& o, IntuneConnection& out);
    void grant(const JsonObject& o, IntuneConnection& out);
    bool required(const Grant& g, std::string_view key);
    void unused(const Grant& g, std::string_view key);
    void certificate_grant(const Grant& g, IntuneConnection& out);
    void endpoints(const JsonObject& o, IntuneConfig& out);
    void verdict_rules(const JsonObject& o, VerdictRules& out);
    void device_properties(const json& p, const std::string& ptr, VerdictRules& out);
    void certificate_and_key(const std::optional<File>& cert, const std::optional<File>& key, fs::path& cert_out,
                             fs::path& key_out);
    std::optional<Cidr> cidr(const json& v, const std::string& ptr);
    std::optional<OutcomeAction> outcome(const json& v, const std::string& ptr, const std::string& device_id_header);
    void forward_action(const JsonObject& o, const std::string& device_id_header, OutcomeAction& out);
    void reject_action(const JsonObject& o, OutcomeAction& out);
    void redirect_action(const JsonObject& o, OutcomeAction& out);
};

std::optional<Secret> Loader::secret(const JsonObject& o, std::string_view key) {
    auto* v = o.get(key);
    auto ptr = o.at(key);
    if (!v) {
        error(ptr, "is required");
        return std::nullopt;
    }
    if (v->is_string()) {
        // The value itself never appears in a message.
        if (v->get_ref<const std::string&>().empty()) {
            error(ptr, "must not be empty");
            return std::nullopt;
        }
        warn(ptr, "secret is written in the config file; outside demos give {\"env\": NAME} or {\"file\": PATH}");
        return Secret{v->get<std::string>(), "literal in the config file", true};
    }
    if (!v->is_object()) {
        error(ptr, "expected {\"env\": NAME}, {\"file\": PATH} or a string, got "s + v->type_name());
        return std::nullopt;
    }
    JsonObject s(*this, *v, ptr, {"env", "file"});
    const json* env = s.get("env");
    const json* path = s.get("file");
    if (env && path) {
        error(ptr, "give either \"env\" or \"file\", not both");
        return std::nullopt;
    }
    if (env) {
        auto name = string(*env, s.at("env"));
        if (!name) return std::nullopt;
        bool valid = !std::isdigit(static_cast<unsigned char>(name->front())) &&
                     std::all_of(name->begin(), name->end(),
                                 [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
        if (!valid) {
            error(s.at("env"), "is not a valid environment variable name");
            return std::nullopt;
        }
        const char* value = std::getenv(name->c_str());
        if (!value)
            error(ptr, "environment variable " + *name + " is not set");
        else if (!*value)
            error(ptr, "environment variable " + *name + " is empty");
        else
            return Secret{value, "environment variable " + *name, false};
        return std::nullopt;
    }
    if (path) {
        auto f = file(*path, s.at("file"));
        if (!f) return std::nullopt;
        std::string problem;
        auto text = config_pem::read_file(f->path, f->shown, problem, max_secret_bytes);
        if (!text) {
            error(ptr, problem);
            return std::nullopt;
        }
        while (!text->empty() && (text->back() == '\n' || text->back() == '\r')) text->pop_back();
        if (text->empty()) {
            error(ptr, "file '" + f->shown + "' is empty");
            return std::nullopt;
        }
        return Secret{std::move(*text), "file " + f->path.string(), false};
    }
    error(ptr, "needs \"env\" or \"file\"");
    return std::nullopt;
}

void Loader::listen(const json* v, const std::string& ptr, std::string& address, std::uint16_t& port) {
    auto o = object(v, ptr, {"address", "port"});
    if (!o) return;
    address_port(*o, address, port);
}

void Loader::address_port(const JsonObject& o, std::string& address, std::uint16_t& port) {
    if (auto* a = o.get("address")) {
        if (auto s = string(*a, o.at("address"))) {
            if (is_ip_address(*s))
                address = *s;
            else
                error(o.at("address"), "must be an IPv4 or IPv6 address, got " + in_quotes(*s));
        }
    }
    number(o, "port", port, 1, 65535);
}

// Without the front end (listen: null) there is no TLS server: certificate and key may be left out.
void Loader::tls(const json* v, TlsConfig& out, bool front_end) {
    if (!v) return error("/tls", "is required");
    auto o = object(v, "/tls",
                    {"certificate", "private_key", "client_ca", "crl", "client_certificate", "min_version",
                     "session_cache", "session_timeout_s"});
    if (!o) return;
    auto cert = file(*o, "certificate", front_end);
    auto key = file(*o, "private_key", front_end || o->get("certificate"));
    auto ca = file(*o, "client_ca", true);
    auto crl = file(*o, "crl", false, true);
    certificate_and_key(cert, key, out.certificate, out.private_key);
    if (ca) {
        out.client_ca = ca->path;
        check(config_pem::check_ca_bundle(ca->path, ca->shown), ca->ptr);
    }
    if (crl) {
        out.crl = crl->path;
        check(config_pem::check_crl(crl->path, crl->shown, ca ? ca->path : fs::path()), crl->ptr);
    }
    if (auto c = choice(*o, "client_certificate", {"required", "optional"})) out.client_certificate_required = *c == 0;
    if (auto c = choice(*o, "min_version", {"1.2", "1.3"})) out.min_version = *c == 0 ? "1.2" : "1.3";
    number(*o, "session_cache", out.session_cache, 0, 1000000);
    duration(*o, "session_timeout_s", out.session_timeout, 1, 86400);
}

std::optional<Cidr> Loader::cidr(const json& v, const std::string& ptr) {
    auto s = string(v, ptr);
    if (!s) return std::nullopt;
    std::string problem;
    auto out = parse_cidr(*s, problem);
    if (!out) error(ptr, problem + ": " + in_quotes(*s));
    return out;
}

void Loader::authz(const json* v, AuthzConfig& out) {
    if (!v || v->is_null()) return;
    auto o = object(v, "/authz", {"address", "port", "trusted_peers", "certificate_headers", "verify_header"});
    if (!o) return;
    out.enabled = true;
    if (auto* a = o->get("address")) {
        if (auto s = string(*a, o->at("address"))) {
            if (is_ip_address(*s))
                out.address = *s;
            else
                error(o->at("address"), "must be an IPv4 or IPv6 address, got " + in_quotes(*s));
        }
    }
    number(*o, "port", out.port, 1, 65535);
    // The endpoint believes the certificate header it is given, so it must know who may give it.
    if (auto* t = o->get("trusted_peers"); !t) {
        error(o->at("trusted_peers"), "is required (the proxies allowed to ask, as CIDRs)");
    } else if (!t->is_array()) {
        type_error(o->at("trusted_peers"), "array", *t);
    } else if (t->empty()) {
        error(o->at("trusted_peers"), "must list at least one CIDR");
    } else {
        for (std::size_t i = 0; i < t->size(); ++i)
            if (auto c = cidr((*t)[i], o->at("trusted_peers") + "/" + std::to_string(i)))
                out.trusted_peers.push_back(*c);
    }
    if (auto* h = o->get("certificate_headers")) {
        if (!h->is_array()) {
            type_error(o->at("certificate_headers"), "array", *h);
        } else if (h->empty()) {
            error(o->at("certificate_headers"), "must name at least one header");
        } else {
            std::vector<std::string> names;
            for (std::size_t i = 0; i < h->size(); ++i) {
                auto ptr = o->at("certificate_headers") + "/" + std::to_string(i);
                auto name = string((*h)[i], ptr);
                if (!name) continue;
                if (!is_token(*name))
                    error(ptr, "is not a valid header name: " + in_quotes(*name));
                else if (std::any_of(names.begin(), names.end(),
                                     [&](const std::string& n) { return ci_is_equal(n, *name); }))
                    error(ptr, in_quotes(*name) + " is listed twice");
                else
                    names.push_back(*name);
            }
            out.certificate_headers = std::move(names);
        }
    }
    if (auto* vh = o->get("verify_header"); vh && !vh->is_null()) {
        if (auto vo = object(vh, o->at("verify_header"), {"name", "value"})) {
            auto* n = vo->get("name");
            auto* val = vo->get("value");
            if (!n) error(vo->at("name"), "is required");
            if (!val) error(vo->at("value"), "is required");
            std::optional<std::string> name, value;
            if (n) name = string(*n, vo->at("name"));
            if (val) value = string(*val, vo->at("value"));
            if (name && !is_token(*name)) {
                error(vo->at("name"), "is not a valid header name: " + in_quotes(*name));
                name.reset();
            }
            if (value && !is_field_value(*value)) {
                error(vo->at("value"), "must not contain control characters");
                value.reset();
            }
            if (name && value) out.verify_header.emplace(*name, *value);
        }
    }
}

void Loader::device_id(const json* v, DeviceIdConfig& out) {
    auto o = object(v, "/device_id", {"sources", "san_uri_scheme", "header", "trusted_peers"});
    if (!o) return;
    if (auto* s = o->get("sources")) {
        if (!s->is_array()) {
            type_error(o->at("sources"), "array", *s);
        } else if (s->empty()) {
            error(o->at("sources"), "must name at least one source");
        } else {
            std::vector<IdSource> sources;
            for (std::size_t i = 0; i < s->size(); ++i) {
                auto ptr = o->at("sources") + "/" + std::to_string(i);
                auto name = string((*s)[i], ptr, true);
                if (!name) continue;
                IdSource id;
                if (*name == "san_uri")
                    id = IdSource::SanUri;
                else if (*name == "subject_cn")
                    id = IdSource::SubjectCn;
                else if (*name == "header")
                    id = IdSource::Header;
                else {
                    error(ptr, "must be one of \"san_uri\", \"subject_cn\", \"header\", got " + in_quotes(*name));
                    continue;
                }
                if (std::find(sources.begin(), sources.end(), id) != sources.end())
                    error(ptr, in_quotes(*name) + " is listed twice");
                else
                    sources.push_back(id);
            }
            out.sources = std::move(sources);
        }
    }
    if (auto* s = o->get("san_uri_scheme")) {
        if (auto scheme = string(*s, o->at("san_uri_scheme"))) {
            bool ok = std::isalpha(static_cast<unsigned char>(scheme->front())) &&
                      std::all_of(scheme->begin(), scheme->end(), [](char c) {
                          return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.';
                      });
            if (ok)
                out.san_uri_scheme = *scheme;
            else
                error(o->at("san_uri_scheme"), "is not a valid URI scheme: " + in_quotes(*scheme));
        }
    }
    if (auto* h = o->get("header")) {
        if (auto name = string(*h, o->at("header"))) {
            if (!is_token(*name))
                error(o->at("header"), "is not a valid header name: " + in_quotes(*name));
            else if (is_reserved_device_header(*name))
                error(o->at("header"), in_quotes(*name) + " is a header the gateway or HTTP itself sets");
            else
                out.header = *name;
        }
    }
    if (auto* t = o->get("trusted_peers")) {
        if (!t->is_array()) {
            type_error(o->at("trusted_peers"), "array", *t);
        } else {
            for (std::size_t i = 0; i < t->size(); ++i)
                if (auto c = cidr((*t)[i], o->at("trusted_peers") + "/" + std::to_string(i)))
                    out.trusted_peers.push_back(*c);
        }
    }
    bool header_source = std::find(out.sources.begin(), out.sources.end(), IdSource::Header) != out.sources.end();
    if (header_source && out.trusted_peers.empty())
        warn("/device_id/sources", "\"header\" is listed but trusted_peers is empty, so the header is never honoured");
}

void Loader::intune(const json* v, IntuneConfig& out) {
    if (!v) return error("/intune", "is required");
    auto o = object(v, "/intune",
                    {"tenant_id",
                     "client_id",
                     "auth",
                     "client_secret",
                     "client_certificate",
                     "client_private_key",
                     "assertion_algorithm",
                     "username",
                     "password",
                     "login_url",
                     "graph_url",
                     "ca_file",
                     "timeout_ms",
                     "cache",
                     "device_not_found",
                     "save_device_properties",
                     "device_properties",
                     "save_installed_apps",
                     "max_device_header_bytes",
                     "max_apps_header_bytes",
                     "shared_cache",
                     "sync",
                     "stale_if_error_s"});
    if (!o) return;
    application(*o, out);
    grant(*o, out);
    endpoints(*o, out);
    if (auto c = object(o->get("cache"), o->at("cache"), {"compliant_ttl_s", "other_ttl_s", "max_entries"})) {
        duration(*c, "compliant_ttl_s", out.cache.compliant_ttl, 0, 86400);
        duration(*c, "other_ttl_s", out.cache.other_ttl, 0, 86400);
        number(*c, "max_entries", out.cache.max_entries, 0, 100000000);
    }
    verdict_rules(*o, out);
    shared_cache(o->get("shared_cache"), o->at("shared_cache"), out.shared_cache);
    if (auto s = object(o->get("sync"), o->at("sync"), {"interval_s", "page_size"})) {
        duration(*s, "interval_s", out.sync.interval, 0, 86400);
        number(*s, "page_size", out.sync.page_size, 1, 1000);
    }
    duration(*o, "stale_if_error_s", out.stale_if_error, 0, 7 * 86400);
}

// Which application asks, in which tenant.
void Loader::application(const JsonObject& o, IntuneConnection& out) {
    if (auto* t = o.get("tenant_id")) {
        if (auto s = string(*t, o.at("tenant_id"))) {
            if (auto problem = tenant_id_problem(*s); problem.empty())
                out.tenant_id = *s;
            else
                error(o.at("tenant_id"), problem);
        }
    } else {
        error(o.at("tenant_id"), "is required");
    }
    if (auto* c = o.get("client_id")) {
        if (auto s = string(*c, o.at("client_id"))) {
            if (normalize_guid(*s))
                out.client_id = *s;
            else
                error(o.at("client_id"), "must be the application (client) ID, a GUID, got " + in_quotes(*s));
        }
    } else {
        error(o.at("client_id"), "is required");
    }
}

// The grant ("auth") and the keys it needs. Keys of the other grants are ignored (and left
// unresolved) with a warning: an operator may be switching.
void Loader::grant(const JsonObject& o, IntuneConnection& out) {
    std::optional<std::size_t> auth = 0;
    if (o.get("auth")) auth = choice(o, "auth", {"client_secret", "certificate", "password"});
    if (!auth) return;
    static constexpr std::string_view mode_names[] = {"client_secret", "certificate", "password"};
    out.auth = static_cast<AuthMode>(*auth);
    const Grant g{o, in_quotes(mode_names[*auth])};
    if (out.auth != AuthMode::Certificate) {
        if (required(g, "client_secret"))
            if (auto s = secret(o, "client_secret")) out.client_secret = std::move(*s);
    } else {
        unused(g, "client_secret");
    }
    if (out.auth == AuthMode::Certificate) {
        certificate_grant(g, out);
    } else {
        for (auto key : {"client_certificate", "client_private_key", "assertion_algorithm"}) unused(g, key);
    }
    if (out.auth == AuthMode::Password) {
        if (required(g, "username")) {
            if (auto s = string(*o.get("username"), o.at("username"))) {
                if (has_control(*s))
                    error(o.at("username"), "must not contain control characters");
                else
                    out.username = *s;
            }
        }
        if (required(g, "password"))
            if (auto s = secret(o, "password")) out.password = std::move(*s);
    } else {
        unused(g, "username");
        unused(g, "password");
    }
}

bool Loader::required(const Grant& g, std::string_view key) {
    if (g.o.get(key)) return true;
    error(g.o.at(key), "is required with auth " + g.mode);
    return false;
}

void Loader::unused(const Grant& g, std::string_view key) {
    if (g.o.get(key)) warn(g.o.at(key), "is not used with auth " + g.mode);
}

// The certificate grant's certificate and RSA key (Entra ID's rule), and the assertion's algorithm.
void Loader::certificate_grant(const Grant& g, IntuneConnection& out) {
    required(g, "client_certificate");
    required(g, "client_private_key");
    auto cert = file(g.o, "client_certificate", false);
    auto key = file(g.o, "client_private_key", false);
    certificate_and_key(cert, key, out.client_certificate, out.client_private_key);
    if (key) check(config_pem::check_rsa_key(key->path, key->shown), key->ptr);
    if (auto a = choice(g.o, "assertion_algorithm", {"PS256", "RS256"}))
        out.assertion_algorithm = static_cast<AssertionAlgorithm>(*a);
}

// Where the identity platform and Graph are, and how long a call to them may take.
void Loader::endpoints(const JsonObject& o, IntuneConfig& out) {
    for (auto [key, target] : {std::pair{"login_url", &out.login_url}, std::pair{"graph_url", &out.graph_url}}) {
        auto* u = o.get(key);
        if (!u) continue;
        auto s = string(*u, o.at(key));
        if (!s) continue;
        auto parsed = parse_url(*s, {.origin_only = true});
        if (!parsed.error.empty())
            error(o.at(key), parsed.error + ": " + in_quotes(*s));
        else
            *target = parsed.origin.text();
    }
    if (auto f = file(o, "ca_file", false, true)) {
        out.ca_file = f->path;
        check(config_pem::check_ca_bundle(f->path, f->shown), f->ptr);
    }
    duration(o, "timeout_ms", out.timeout, 1, 600000);
}

// What shapes a verdict from Graph's answer.
void Loader::verdict_rules(const JsonObject& o, VerdictRules& out) {
    if (auto* d = o.get("device_not_found")) {
        if (auto s = string(*d, o.at("device_not_found"), true)) {
            if (auto which = outcome_from_name(*s))
                out.device_not_found = *which;
            else
                error(o.at("device_not_found"), "is not an outcome name: " + in_quotes(*s));
        }
    }
    boolean(o, "save_device_properties", out.save_device_properties);
    if (auto* p = o.get("device_properties")) device_properties(*p, o.at("device_properties"), out);
    boolean(o, "save_installed_apps", out.save_installed_apps);
    // At least room for the header name and a few entries; at most what any server would take.
    number(o, "max_device_header_bytes", out.max_device_header_bytes, 256, 65536);
    number(o, "max_apps_header_bytes", out.max_apps_header_bytes, 256, 65536);
}

void Loader::device_properties(const json& p, const std::string& ptr, VerdictRules& out) {
    if (!p.is_array()) return type_error(ptr, "array", p);
    for (std::size_t i = 0; i < p.size(); ++i) {
        auto item = ptr + "/" + std::to_string(i);
        auto name = string(p[i], item);
        if (!name) continue;
        bool ok = std::all_of(name->begin(), name->end(), [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '@' || c == '.';
        });
        if (!ok) {
            error(item, "is not a Graph property name: " + in_quotes(*name));
            continue;
        }
        // Graph v1.0 answers $select of a name it does not have with 400: every lookup would be Error.
        auto v1 = v1_device_property(*name);
        if (!v1) {
            std::string msg = in_quotes(*name) + " is not a property of managedDevice in Microsoft Graph v1.0";
            if (auto r = v1_replacement(*name)) msg += "; the v1.0 property is " + in_quotes(*r);
            error(item, msg);
        } else if (std::find(out.device_properties.begin(), out.device_properties.end(), *v1) !=
                   out.device_properties.end()) {
            error(item, in_quotes(*name) + " is listed twice");
        } else {
            out.device_properties.emplace_back(*v1);  // Graph's spelling: it names the saved field
        }
    }
    if (!out.device_properties.empty() && !out.save_device_properties)
        warn(ptr, "is ignored while save_device_properties is false");
}

// A certificate and its private key, either possibly absent: each readable and well-formed, the
// certificate's validity warned about, the key matching the certificate when both are given.
void Loader::certificate_and_key(const std::optional<File>& cert, const std::optional<File>& key, fs::path& cert_out,
                                 fs::path& key_out) {
    if (cert) {
        cert_out = cert->path;
        check(config_pem::check_certificate(cert->path, cert->shown), cert->ptr);
        if (auto w = config_pem::certificate_validity_warning(cert->path, cert->shown)) warn(cert->ptr, *w);
    }
    if (key) {
        key_out = key->path;
        if (cert) check(config_pem::check_private_key(key->path, key->shown, cert->path, cert->shown), key->ptr);
    }
}

void Loader::shared_cache(const json* v, const std::string& ptr, SharedCacheConfig& out) {
    if (!v || v->is_null()) return;
    auto o = object(v, ptr, {"redis", "password", "key_prefix", "timeout_ms"});
    if (!o) return;
    out.enabled = true;
    if (auto* r = o->get("redis")) {
        if (auto s = string(*r, o->at("redis"))) {
            // A URL with user info may hold a password: it is not echoed.
            if (auto problem = parse_redis_url(*s, out))
                error(o->at("redis"), *problem + (s->find('@') == std::string::npos ? ": " + in_quotes(*s) : ""));
        }
    } else {
        error(o->at("redis"), "is required (redis://host:port/db or rediss://...)");
    }
    if (auto* p = o->get("password"); p && !p->is_null()) {
        if (auto s = secret(*o, "password")) out.password = std::move(*s);
    }
    if (auto* k = o->get("key_prefix")) {
        if (auto s = string(*k, o->at("key_prefix"), true)) {
            bool ok =
                s->size() <= 100 && std::all_of(s->begin(), s->end(), [](char c) { return c > 0x20 && c < 0x7f; });
            if (ok)
                out.key_prefix = *s;
            else
                error(o->at("key_prefix"), "must be at most 100 visible ASCII characters, got " + in_quotes(*s));
        }
    }
    duration(*o, "timeout_ms", out.timeout, 1, 10000);
}

void Loader::upstream(const json* v, UpstreamConfig& out) {
    auto o = object(v, "/upstream", {"url", "ca_file", "timeout_ms"});
    if (!o) return;
    if (auto* u = o->get("url")) {
        if (auto s = string(*u, o->at("url"))) {
            auto parsed = parse_url(*s, {.http_allowed = true, .origin_only = true});
            if (!parsed.error.empty()) {
                error(o->at("url"), parsed.error + ": " + in_quotes(*s));
            } else {
                out.url = parsed.origin.text();
                out.tls = parsed.origin.https;
                out.host = parsed.origin.host;
                out.port = parsed.origin.port;
            }
        }
    }
    if (auto f = file(*o, "ca_file", false, true)) {
        out.ca_file = f->path;
        check(config_pem::check_ca_bundle(f->path, f->shown), f->ptr);
        if (!out.tls) warn(f->ptr, "is not used with an http upstream");
    }
    duration(*o, "timeout_ms", out.timeout, 1, 3600000);
}

std::optional<OutcomeAction> Loader::outcome(const json& v, const std::string& ptr,
                                             const std::string& device_id_header) {
    if (!v.is_object()) {
        type_error(ptr, "object", v);
        return std::nullopt;
    }
    auto it = v.find("action");
    if (it == v.end()) {
        error(ptr + "/action", "is required (\"forward\", \"reject\" or \"redirect\")");
        return std::nullopt;
    }
    auto name = string(*it, ptr + "/action", true);
    if (!name) return std::nullopt;
    OutcomeAction out;
    std::size_t errors_before = errors.size();
    if (*name == "forward") {
        forward_action(JsonObject(*this, v, ptr, {"action", "headers"}), device_id_header, out);
    } else if (*name == "reject") {
        reject_action(JsonObject(*this, v, ptr, {"action", "status", "help", "help_url"}), out);
    } else if (*name == "redirect") {
        redirect_action(JsonObject(*this, v, ptr, {"action", "location", "status"}), out);
    } else {
        error(ptr + "/action", "must be one of \"forward\", \"reject\", \"redirect\", got " + in_quotes(*name));
        return std::nullopt;
    }
    if (errors.size() != errors_before) return std::nullopt;
    return out;
}

// forward: the request goes upstream, with the headers the operator adds.
void Loader::forward_action(const JsonObject& o, const std::string& device_id_header, OutcomeAction& out) {
    out.action = Action::Forward;
    out.status = 0;
    auto* h = o.get("headers");
    if (!h) return;
    if (!h->is_object()) return type_error(o.at("headers"), "object", *h);
    for (const auto& item : h->items()) {
        const std::string& header = item.key();  // not a structured binding: the lambda below uses it
        const json& value = item.value();
        auto hptr = o.at("headers") + "/" + pointer_token(header);
        if (!is_token(header))
            error(hptr, "is not a valid header name");
        else if (is_reserved_header(header, device_id_header))
            error(hptr, "is a header the gateway or HTTP itself sets; it cannot be configured");
        else if (!value.is_string())
            type_error(hptr, "string", value);
        else if (!is_field_value(value.get_ref<const std::string&>()))
            error(hptr, "value must not contain CR, LF, NUL or other control characters");
        else if (std::any_of(out.headers.begin(), out.headers.end(),
                             [&](const auto& h) { return ci_is_equal(h.first, header); }))
            error(hptr, "is given twice (header names ignore case)");
        else
            out.headers.emplace_back(header, value.get<std::string>());
    }
}

// reject: a status, and what the deny page tells the user to do.
void Loader::reject_action(const JsonObject& o, OutcomeAction& out) {
    out.action = Action::Reject;
    out.status = 403;
    number(o, "status", out.status, 400, 599);
    if (auto* h = o.get("help")) {
        if (auto s = string(*h, o.at("help"))) {
            if (s->size() > max_help_bytes)
                error(o.at("help"), "is longer than " + std::to_string(max_help_bytes) + " bytes");
            else if (std::any_of(s->begin(), s->end(), [](char c) { return c != '\n' && has_control({&c, 1}); }))
                error(o.at("help"), "must not contain control characters other than a line break");
            else
                out.help = *s;
        }
    }
    if (auto* u = o.get("help_url")) {
        if (auto s = string(*u, o.at("help_url"))) {
            auto parsed = parse_url(*s);
            if (!parsed.error.empty())
                error(o.at("help_url"), parsed.error + ": " + in_quotes(*s));
            else
                out.help_url = *s;
        }
    }
}

// redirect: a location (with placeholders) and a redirect status.
void Loader::redirect_action(const JsonObject& o, OutcomeAction& out) {
    out.action = Action::Redirect;
    out.status = 302;
    if (auto* l = o.get("location")) {
        if (auto s = string(*l, o.at("location"))) {
            // Checked as it will be sent: with its placeholders filled in.
            std::string problem;
            const auto sample = fill_location_placeholders(*s, problem);
            if (problem.empty()) problem = parse_url(sample, {.http_allowed = true}).error;
            if (!problem.empty())
                error(o.at("location"), problem);
            else
                out.location = *s;
        }
    } else {
        error(o.at("location"), "is required with action \"redirect\"");
    }
    if (auto s = integer(o, "status", 300, 399)) {
        if (*s == 301 || *s == 302 || *s == 303 || *s == 307 || *s == 308)
            out.status = static_cast<unsigned>(*s);
        else
            error(o.at("status"), "must be 301, 302, 303, 307 or 308, got " + std::to_string(*s));
    }
}

void Loader::outcomes(const json* v, const std::string& device_id_header,
                      std::array<OutcomeAction, outcome_count>& out) {
    for (std::size_t i = 0; i < outcome_count; ++i) {
        out[i] = OutcomeAction{};  // reject 403
        if (static_cast<Outcome>(i) == Outcome::Compliant) {
            out[i].action = Action::Forward;
            out[i].status = 0;
        }
    }
    if (!v) return;
    if (!v->is_object()) return type_error("/outcomes", "object", *v);
    for (const auto& [name, value] : v->items()) {
        auto ptr = "/outcomes/" + pointer_token(name);
        auto which = outcome_from_name(name);
        if (!which) {
            std::string list;
            for (std::size_t i = 0; i < outcome_count; ++i) list += (i ? ", " : "") + std::string(outcome_names[i]);
            error(ptr, "unknown outcome (the outcomes are " + list + ")");
            continue;
        }
        if (auto a = outcome(value, ptr, device_id_header)) out[static_cast<std::size_t>(*which)] = std::move(*a);
    }
}

void Loader::limits(const json* v, LimitsConfig& out) {
    auto o = object(v, "/limits",
                    {"max_header_bytes", "max_body_bytes", "handshake_timeout_s", "header_timeout_s", "idle_timeout_s",
                     "max_connections", "max_connections_per_address", "max_pending_handshakes"});
    if (!o) return;
    number(*o, "max_header_bytes", out.max_header_bytes, 1024, 1 << 20);
    number(*o, "max_body_bytes", out.max_body_bytes, 0, std::uint64_t(1) << 40);
    duration(*o, "handshake_timeout_s", out.handshake_timeout, 1, 3600);
    duration(*o, "header_timeout_s", out.header_timeout, 1, 3600);
    duration(*o, "idle_timeout_s", out.idle_timeout, 1, 86400);
    number(*o, "max_connections", out.max_connections, 1, 1000000);
    number(*o, "max_connections_per_address", out.max_connections_per_address, 1, 1000000);
    number(*o, "max_pending_handshakes", out.max_pending_handshakes, 1, 1000000);
}

void Loader::root(const json& doc, Config& out) {
    if (!doc.is_object()) return type_error("/", "object", doc);
    JsonObject o(*this, doc, "",
                 {"listen", "workers", "tls", "device_id", "intune", "upstream", "outcomes", "limits", "admin", "authz",
                  "pages_dir"});
    if (auto* l = o.get("listen"); l && l->is_null())
        out.listen.enabled = false;
    else
        listen(l, "/listen", out.listen.address, out.listen.port);
    number(o, "workers", out.workers, 0, 256);
    tls(o.get("tls"), out.tls, out.listen.enabled);
    authz(o.get("authz"), out.authz);
    if (!out.listen.enabled && !out.authz.enabled)
        error("/listen", "is null and there is no \"authz\" endpoint: nothing would serve requests");
    device_id(o.get("device_id"), out.device_id);
    intune(o.get("intune"), out.intune);
    upstream(o.get("upstream"), out.upstream);
    outcomes(o.get("outcomes"), out.device_id.header, out.outcomes);
    limits(o.get("limits"), out.limits);
    admin(o.get("admin"), out);
    pages(o.get("pages_dir"), out);
    if (out.authz.enabled) {
        auto same = [](const std::string& a, const std::string& b) {
            return a == b || a == "0.0.0.0" || a == "::" || b == "0.0.0.0" || b == "::";
        };
        if (out.listen.enabled && same(out.authz.address, out.listen.address) && out.authz.port == out.listen.port)
            error("/authz/port", "is the same as /listen/port (" + std::to_string(out.listen.port) + ")");
        if (out.admin.enabled && same(out.authz.address, out.admin.address) && out.authz.port == out.admin.port)
            error("/authz/port", "is the same as /admin/port (" + std::to_string(out.admin.port) + ")");
    }
}

void Loader::admin(const json* a, Config& out) {
    if (a && a->is_null()) {
        out.admin.enabled = false;
        return;
    }
    if (!a) return;
    auto o = object(a, "/admin", {"address", "port", "token"});
    if (!o) return;
    address_port(*o, out.admin.address, out.admin.port);
    if (auto* t = o->get("token"); t && !t->is_null()) {
        if (auto s = secret(*o, "token")) {
            if (!is_field_value(s->value) || s->value.find_first_of(" \t") != std::string::npos)
                error(o->at("token"), "must not contain spaces or control characters");
            else
                out.admin.token = std::move(*s);
        }
    }
    auto wildcard = [](const std::string& s) { return s == "0.0.0.0" || s == "::"; };
    bool overlap =
        out.admin.address == out.listen.address || wildcard(out.admin.address) || wildcard(out.listen.address);
    if (out.listen.enabled && overlap && out.admin.port == out.listen.port)
        error("/admin/port", "is the same as /listen/port (" + std::to_string(out.listen.port) + ")");
}

// pages_dir: <Outcome>.html per outcome that has its own page, read and checked now (a reload
// reads them again), never per request. Every .html file there must name an outcome.
void Loader::pages(const json* v, Config& out) {
    if (!v || v->is_null()) return;
    const std::string ptr = "/pages_dir";
    auto dir = file(*v, ptr);
    if (!dir) return;
    std::error_code ec;
    if (!fs::is_directory(dir->path, ec)) return error(ptr, "'" + dir->shown + "' is not a readable folder");
    out.pages_dir = dir->path;
    fs::directory_iterator it(dir->path, ec), end;
    if (ec) return error(ptr, "cannot read folder '" + dir->shown + "': " + ec.message());
    std::vector<fs::path> files;
    for (; it != end; it.increment(ec)) {
        if (it->path().extension() == ".html") files.push_back(it->path());
    }
    if (ec) return error(ptr, "cannot read folder '" + dir->shown + "': " + ec.message());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
        const std::string name = f.stem().string();
        const std::string shown = printable(f.filename().string());
        auto which = outcome_from_name(name);
        if (!which) {
            error(ptr, "'" + shown + "' does not name an outcome (pages are <Outcome>.html, e.g. NotCompliant.html)");
            continue;
        }
        std::string problem;
        auto text = config_pem::read_file(f, shown, problem, max_page_bytes);
        if (!text) {
            error(ptr, problem);
            continue;
        }
        auto parsed = parse_page_template(*text);
        if (!parsed.error.empty()) {
            error(ptr, "'" + shown + "': " + parsed.error);
            continue;
        }
        auto& action = out.outcomes[static_cast<std::size_t>(*which)];
        if (action.action != Action::Reject)
            warn(ptr, "'" + shown + "' is not used: the outcome's action is not \"reject\"");
        action.page = std::make_shared<const PageTemplate>(std::move(parsed.page));
    }
}

ConfigResult finish(Loader& loader, Config config) {
    ConfigResult result;
    result.errors = std::move(loader.errors);
    if (result.errors.empty()) {
        config.warnings = std::move(loader.warnings);
        result.config = std::move(config);
    }
    return result;
}

// nlohmann keeps the last of two equal keys without a word; a duplicate is as suspicious as a
// typo, so the parse callback tracks where it is and notes every repeated key as a JSON Pointer.
class DuplicateKeys {
public:
    bool operator()(int, json::parse_event_t event, json& parsed) {
        using E = json::parse_event_t;
        switch (event) {
            case E::object_start: stack_.push_back(Frame{false}); break;
            case E::array_start: stack_.push_back(Frame{true}); break;
            case E::key: {
                auto& top = stack_.back();
                top.key = parsed.get<std::string>();
                if (!top.keys.insert(top.key).second) found.push_back(where() + ": duplicate key");
                break;
            }
            case E::object_end:
            case E::array_end:
                stack_.pop_back();
                next_element();
                break;
            case E::value: next_element(); break;
        }
        return true;
    }
    std::vector<std::string> found;

private:
    struct Frame {
        bool array = false;
        std::size_t index = 0;
        std::string key;
        std::set<std::string, std::less<>> keys;
    };
    void next_element() {
        if (!stack_.empty() && stack_.back().array) ++stack_.back().index;
    }
    std::string where() const {
        std::string p;
        for (const auto& f : stack_) p += "/" + (f.array ? std::to_string(f.index) : pointer_token(f.key));
        return p;
    }
    std::vector<Frame> stack_;
};

}  // namespace

ConfigResult parse_config(const nlohmann::json& doc, const std::filesystem::path& base_dir) {
    auto base = fs::absolute(base_dir).lexically_normal();
    Loader loader(base);
    Config config;
    loader.root(doc, config);
    return finish(loader, std::move(config));
}

ConfigResult load_config(const std::filesystem::path& file) {
    auto absolute = fs::absolute(file).lexically_normal();
    std::string problem;
    auto text = config_pem::read_file(absolute, printable(file.string()), problem, max_config_bytes);
    if (!text) {
        ConfigResult result;
        result.errors.push_back("config error: /: " + problem);
        return result;
    }
    auto result = load_config_text(*text, absolute.parent_path());
    if (result.config) result.config->file = absolute;
    return result;
}

ConfigResult load_config_text(std::string_view text, const std::filesystem::path& base_dir) {
    ConfigResult result;
    DuplicateKeys duplicates;
    auto parsed = parse_outside_json(text, {max_config_bytes, max_config_depth}, std::ref(duplicates));
    if (!parsed.doc) {
        // "not valid JSON: parse error at line 3, column 5: ..." or "JSON nested deeper than ...".
        result.errors.push_back("config error: /: " + printable(parsed.error));
        return result;
    }
    result = parse_config(*parsed.doc, base_dir);
    for (const auto& d : duplicates.found) result.errors.insert(result.errors.begin(), "config error: " + d);
    if (!result.errors.empty()) result.config.reset();
    return result;
}

}  // namespace ig
