#include "core/config/config_policies.hpp"

#include "core/policy/path_normalise.hpp"
#include "core/policy/version.hpp"

#include <algorithm>
#include <set>

namespace ig {
namespace {

using json = nlohmann::json;
constexpr std::size_t max_name_len = 64;

bool name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
           c == '.';
}

// A JSON array of strings, each given to `each` with its pointer; false after a type error.
template <class F>
bool strings(JsonWalk& walk, const json& v, const std::string& ptr, F&& each) {
    if (!v.is_array()) {
        walk.type_error(ptr, "array", v);
        return false;
    }
    if (v.empty()) walk.error(ptr, "must not be empty (leave it out instead)");
    for (std::size_t i = 0; i < v.size(); ++i) {
        const auto at = ptr + "/" + std::to_string(i);
        if (auto s = walk.string(v[i], at)) each(*s, at);
    }
    return true;
}

void read_match(JsonWalk& walk, const json* v, const std::string& ptr, Policy& p) {
    auto o = walk.object(v, ptr, {"hosts", "paths"});
    if (!o) return;
    if (auto* h = o->get("hosts"))
        strings(walk, *h, o->at("hosts"), [&](const std::string& s, const std::string& at) {
            if (auto problem = host_pattern_problem(s))
                walk.error(at, *problem + ", got " + in_quotes(s));
            else
                p.hosts.push_back(make_host_pattern(s));
        });
    if (auto* ps = o->get("paths"))
        strings(walk, *ps, o->at("paths"), [&](const std::string& s, const std::string& at) {
            // A prefix is written as requests are compared: already normalised, no parameters or query.
            auto n = normalise_path(s);
            if (!n || n->match != s || s.find('?') != std::string::npos)
                walk.error(at,
                           "must be a normalised path prefix starting with \"/\" (no dot segments, \"//\", "
                           ";parameters, query or encoded unreserved characters)" +
                               std::string(n ? ", e.g. " + in_quotes(n->match) : "") + ", got " + in_quotes(s));
            else
                p.paths.push_back(s);
        });
}

void read_outcomes(JsonWalk& walk, const json& v, const std::string& ptr, Requirements& r) {
    r.outcomes.clear();
    strings(walk, v, ptr, [&](const std::string& s, const std::string& at) {
        if (auto o = outcome_from_name(s))
            r.outcomes.push_back(*o);
        else
            walk.error(at, "unknown outcome " + in_quotes(s));
    });
}

void read_os(JsonWalk& walk, const json& v, const std::string& ptr, Requirements& r) {
    if (!v.is_object()) return walk.type_error(ptr, "object", v);
    if (v.empty()) walk.error(ptr, "must name at least one operating system");
    for (const auto& [platform, version] : v.items()) {
        const auto at = ptr + "/" + pointer_token(platform);
        auto s = walk.string(version, at);
        if (!s) continue;
        if (platform.empty() || platform.size() > max_name_len || printable_ascii(platform, max_name_len) != platform)
            walk.error(at, "is not an operating system name");
        else if (!is_plain_version(*s))
            walk.error(at, "must be a version of digits and dots (e.g. \"14.5\"), got " + in_quotes(*s));
        else
            r.os.emplace_back(platform, *s);
    }
}

void read_requirements(JsonWalk& walk, const json* v, const std::string& ptr, Requirements& r) {
    if (!v) return;
    if (!v->is_object()) return walk.type_error(ptr, "object", *v);
    for (const auto& [key, value] : v->items()) {
        const auto at = ptr + "/" + pointer_token(key);
        if (key == "outcomes") {
            read_outcomes(walk, value, at, r);
        } else if (key == "os") {
            read_os(walk, value, at, r);
        } else if (key == "encrypted" || key == "jailbroken") {
            if (!value.is_boolean())
                walk.type_error(at, "boolean", value);
            else
                (key == "encrypted" ? r.encrypted : r.jailbroken) = value.get<bool>();
        } else if (key == "owner") {
            strings(walk, value, at, [&](const std::string& s, const std::string& a) {
                if (s != "company" && s != "personal")
                    walk.error(a, "must be \"company\" or \"personal\", got " + in_quotes(s));
                else
                    r.owner.push_back(s);
            });
        } else if (key == "max_sync_age_h") {
            if (!value.is_number_unsigned() || value.get<std::uint64_t>() < 1 || value.get<std::uint64_t>() > 8760)
                walk.error(at, "must be between 1 and 8760, got " + value.dump() + " (whole hours)");
            else
                r.max_sync_age_h = value.get<unsigned>();
        } else {
            std::string list;
            for (auto n : requirement_names) list += (list.empty() ? "" : ", ") + std::string(n);
            walk.error(at, "unknown requirement (the requirements are " + list + ")");
        }
    }
}

void read_deny(JsonWalk& walk, const json* v, const std::string& ptr, const ActionReader& deny, PolicyConfig& p) {
    p.deny = OutcomeAction{};  // reject 403
    if (!v) return;
    if (v->is_object()) {
        auto a = v->find("action");
        if (a != v->end() && a->is_string() && *a == "forward")
            return walk.error(ptr + "/action", "must be \"reject\" or \"redirect\" (a policy's denial cannot forward)");
    }
    if (auto action = deny(*v, ptr)) p.deny = std::move(*action);
}

void read_policy(JsonWalk& walk, const json& v, const std::string& ptr, const ActionReader& deny, PolicyConfig& p) {
    auto o = walk.object(&v, ptr, {"name", "match", "require", "mode", "deny"});
    if (!o) return;
    if (auto* n = o->get("name")) {
        if (auto s = walk.string(*n, o->at("name"), true)) {
            if (s->empty() || s->size() > max_name_len || !std::all_of(s->begin(), s->end(), name_char))
                walk.error(o->at("name"), "must be 1 to 64 letters, digits, '-', '_' or '.', got " + in_quotes(*s));
            p.name = *s;
        }
    } else {
        walk.error(o->at("name"), "is required");
    }
    read_match(walk, o->get("match"), o->at("match"), p);
    read_requirements(walk, o->get("require"), o->at("require"), p.require);
    if (auto mode = walk.choice(*o, "mode", {"enforce", "report"}))
        p.mode = *mode == 1 ? PolicyMode::Report : PolicyMode::Enforce;
    read_deny(walk, o->get("deny"), o->at("deny"), deny, p);
}

}  // namespace

void read_policies(JsonWalk& walk, const json* v, const ActionReader& deny, std::vector<PolicyConfig>& out) {
    out.clear();
    if (!v || v->is_null()) return;
    if (!v->is_array()) return walk.type_error("/policies", "array", *v);
    std::set<std::string, std::less<>> names;
    for (std::size_t i = 0; i < v->size(); ++i) {
        const auto ptr = "/policies/" + std::to_string(i);
        PolicyConfig p;
        read_policy(walk, (*v)[i], ptr, deny, p);
        if (!p.name.empty() && !names.insert(p.name).second)
            walk.error(ptr + "/name", "is the name of an earlier policy: " + in_quotes(p.name));
        out.push_back(std::move(p));
    }
}

FactMask facts_needed(const std::vector<PolicyConfig>& policies) {
    FactMask m = 0;
    for (const auto& p : policies) m |= p.require.facts();
    return m;
}

}  // namespace ig
