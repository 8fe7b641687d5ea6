#include "core/policy/policy.hpp"

#include "core/policy/path_normalise.hpp"
#include "core/policy/version.hpp"

#include <algorithm>

namespace ig {
namespace {

bool iequal(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               auto low = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
               return low(x) == low(y);
           });
}

std::string joined(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
    return out;
}

RequirementResult check_outcomes(const Requirements& r, Outcome outcome) {
    const bool ok = std::find(r.outcomes.begin(), r.outcomes.end(), outcome) != r.outcomes.end();
    std::vector<std::string> names;
    for (auto o : r.outcomes) names.emplace_back(to_string(o));
    return {Requirement::Outcomes, ok,
            "outcome " + std::string(to_string(outcome)) + (ok ? " is" : " is not") + " one of " + joined(names)};
}

RequirementResult check_os(const Requirements& r, const DeviceFacts& f) {
    RequirementResult out{Requirement::Os, false, {}};
    const std::string& os = f.operating_system;
    if (os.empty()) {
        out.detail = "the device reports no operating system";
        return out;
    }
    auto it = std::find_if(r.os.begin(), r.os.end(), [&](const auto& e) { return iequal(e.first, os); });
    if (it == r.os.end()) {
        out.detail = os + " is not an allowed operating system";
        return out;
    }
    const auto version = comparable_version(f.os_version);
    if (!version) {
        out.detail = os + " reports no version number" + (f.os_version.empty() ? "" : " (\"" + f.os_version + "\")");
        return out;
    }
    out.passed = compare_versions(*version, it->second) >= 0;
    out.detail = os + " " + f.os_version + (out.passed ? " is at least " : " is older than ") + it->second;
    return out;
}

RequirementResult check_encrypted(bool wanted, const DeviceFacts& f) {
    if (!f.encrypted) return {Requirement::Encrypted, false, "the device reports no encryption state"};
    return {Requirement::Encrypted, *f.encrypted == wanted,
            *f.encrypted ? "the device is encrypted" : "the device is not encrypted"};
}

RequirementResult check_jailbroken(bool wanted, const DeviceFacts& f) {
    // A string in Graph: only "True" and "False" say something; "Unknown", "" and the rest fail.
    if (iequal(f.jailbroken, "True") || iequal(f.jailbroken, "False")) {
        const bool is = iequal(f.jailbroken, "True");
        return {Requirement::Jailbroken, is == wanted,
                is ? "the device is jailbroken or rooted" : "the device is not jailbroken or rooted"};
    }
    return {Requirement::Jailbroken, false,
            "the device's jailbreak state is unknown" + (f.jailbroken.empty() ? "" : " (\"" + f.jailbroken + "\")")};
}

RequirementResult check_owner(const Requirements& r, const DeviceFacts& f) {
    if (f.owner.empty() || iequal(f.owner, "unknown"))
        return {Requirement::Owner, false, "the device's owner is unknown"};
    const bool ok = std::any_of(r.owner.begin(), r.owner.end(), [&](const auto& o) { return iequal(o, f.owner); });
    return {Requirement::Owner, ok, "owner " + f.owner + (ok ? " is" : " is not") + " one of " + joined(r.owner)};
}

RequirementResult check_sync_age(unsigned max_h, const DeviceFacts& f, std::int64_t now_ms) {
    if (!f.last_sync_ms) return {Requirement::MaxSyncAge, false, "the device has never checked in with Intune"};
    const std::int64_t age_ms = now_ms - *f.last_sync_ms;
    const bool ok = age_ms <= static_cast<std::int64_t>(max_h) * 3600 * 1000;
    const std::int64_t hours = std::max<std::int64_t>(0, age_ms / (3600 * 1000));
    return {Requirement::MaxSyncAge, ok,
            "last check-in with Intune " + std::to_string(hours) + " hours ago" + (ok ? ", within " : ", more than ") +
                std::to_string(max_h)};
}

}  // namespace

FactMask Requirements::facts() const {
    FactMask m = 0;
    if (!os.empty()) m |= fact_os;
    if (encrypted) m |= fact_encrypted;
    if (jailbroken) m |= fact_jailbroken;
    if (!owner.empty()) m |= fact_owner;
    if (max_sync_age_h) m |= fact_last_sync;
    return m;
}

bool policy_fits(const Policy& p, const RequestTarget& t) {
    if (!p.hosts.empty() &&
        std::none_of(p.hosts.begin(), p.hosts.end(), [&](const HostPattern& h) { return host_fits(t.host, h); }))
        return false;
    if (!p.paths.empty() &&
        std::none_of(p.paths.begin(), p.paths.end(), [&](const std::string& x) { return path_has_prefix(t.path, x); }))
        return false;
    return true;
}

std::vector<RequirementResult> check_requirements(const Requirements& r, Outcome outcome, const DeviceFacts& f,
                                                  std::int64_t now_ms) {
    std::vector<RequirementResult> out;
    out.push_back(check_outcomes(r, outcome));
    if (!r.os.empty()) out.push_back(check_os(r, f));
    if (r.encrypted) out.push_back(check_encrypted(*r.encrypted, f));
    if (r.jailbroken) out.push_back(check_jailbroken(*r.jailbroken, f));
    if (!r.owner.empty()) out.push_back(check_owner(r, f));
    if (r.max_sync_age_h) out.push_back(check_sync_age(*r.max_sync_age_h, f, now_ms));
    return out;
}

std::optional<RequirementResult> first_failure(const Requirements& r, Outcome outcome, const DeviceFacts& f,
                                               std::int64_t now_ms) {
    for (auto& result : check_requirements(r, outcome, f, now_ms))
        if (!result.passed) return result;
    return std::nullopt;
}

}  // namespace ig
