// The "intune" section: the tenant and application, the grant, the endpoints and what shapes a verdict.
#include "core/config/config_loader.hpp"

#include "core/config/config_pem.hpp"
#include "core/graph/managed_device_properties.hpp"
#include "core/graph/origin.hpp"
#include "core/identity/device_id.hpp"

#include <boost/url/grammar/ci_string.hpp>

#include <algorithm>
#include <cctype>
#include <utility>

namespace ig::config_load {

namespace {

using boost::urls::grammar::ci_is_equal;

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

}  // namespace

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
                     "stale_if_error_s",
                     "recheck_interval_s",
                     "max_graph_connections"});
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
    if (auto s = object(o->get("sync"), o->at("sync"), {"interval_s", "page_size", "changes_interval_s"})) {
        duration(*s, "interval_s", out.sync.interval, 0, 86400);
        number(*s, "page_size", out.sync.page_size, 1, 1000);
        duration(*s, "changes_interval_s", out.sync.changes_interval, 0, 86400);
        // Between full syncs only (README: sync.changes_interval_s).
        if (out.sync.changes_interval.count() > 0 && out.sync.changes_interval >= out.sync.interval)
            error(s->at("changes_interval_s"), "must be less than sync.interval_s (and sync.interval_s > 0)");
    }
    duration(*o, "stale_if_error_s", out.stale_if_error, 0, 7 * 86400);
    duration(*o, "recheck_interval_s", out.recheck_interval, 1, 86400);
    number(*o, "max_graph_connections", out.max_graph_connections, 1, 1024);
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
    if (key) report(config_pem::check_rsa_key(key->path, key->shown), key->ptr);
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
        report(config_pem::check_ca_bundle(f->path, f->shown), f->ptr);
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

}  // namespace ig::config_load
