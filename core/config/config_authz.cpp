// The "authz" section (the plugin endpoint) and the CIDR lists of trusted peers.
#include "core/config/config_loader.hpp"

#include "core/identity/cidr.hpp"

#include <boost/url/grammar/ci_string.hpp>

#include <algorithm>
#include <vector>

namespace ig::config_load {

using boost::urls::grammar::ci_is_equal;

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

}  // namespace ig::config_load
