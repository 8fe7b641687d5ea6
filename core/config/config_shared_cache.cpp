// "intune.shared_cache": the Redis server shared by the instances of a site.
#include "core/config/config_loader.hpp"

#include "core/graph/origin.hpp"

#include <boost/url/grammar/ci_string.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <algorithm>
#include <charconv>

namespace ig::config_load {

namespace {

namespace urls = boost::urls;
using urls::grammar::ci_is_equal;

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

}  // namespace

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

}  // namespace ig::config_load
