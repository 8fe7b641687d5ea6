// The configuration loader (docs/configuration.md): walks the document once, fills the model, and collects
// every problem as "config error: <JSON pointer>: <message>" instead of stopping at the first. This
// file holds the root of the walk, the small top-level sections and the entry points; the larger
// sections are in config_<section>.cpp.
#include "core/config/config.hpp"

#include "core/config/config_loader.hpp"
#include "core/config/config_pem.hpp"
#include "core/config/config_policies.hpp"
#include "core/graph/origin.hpp"
#include "core/text/outside_json.hpp"
#include "core/text/text.hpp"

#include <nlohmann/json.hpp>

#include <functional>
#include <set>
#include <string_view>

namespace ig {
namespace config_load {

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
        report(config_pem::check_ca_bundle(f->path, f->shown), f->ptr);
        if (!out.tls) warn(f->ptr, "is not used with an http upstream");
    }
    duration(*o, "timeout_ms", out.timeout, 1, 3600000);
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

void Loader::root(const json& doc, Config& out) {
    if (!doc.is_object()) return type_error("/", "object", doc);
    JsonObject o(*this, doc, "",
                 {"listen", "workers", "tls", "device_id", "intune", "upstream", "outcomes", "limits", "admin", "authz",
                  "pages_dir", "policies"});
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
    out.intune.lookup = out.device_id.lookup;
    upstream(o.get("upstream"), out.upstream);
    outcomes(o.get("outcomes"), out.device_id.header, out.outcomes);
    limits(o.get("limits"), out.limits);
    admin(o.get("admin"), out);
    pages(o.get("pages_dir"), out);
    policies(o.get("policies"), out);
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

// "policies" (core/config/config_policies.cpp); a deny action is read like an outcome's.
void Loader::policies(const json* v, Config& out) {
    read_policies(
        *this, v, [&](const json& a, const std::string& ptr) { return outcome(a, ptr, out.device_id.header); },
        out.policies);
    out.intune.facts = facts_needed(out.policies);
    for (const auto& p : out.policies) {
        out.policy_hosts = out.policy_hosts || !p.hosts.empty();
        out.policy_paths = out.policy_paths || !p.paths.empty();
    }
}

}  // namespace config_load

namespace {

using config_load::json;
using config_load::Loader;
namespace fs = std::filesystem;

constexpr std::size_t max_config_bytes = 4 << 20;
constexpr int max_config_depth = 32;  // the schema needs 4

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
