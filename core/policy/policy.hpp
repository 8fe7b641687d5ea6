#pragma once
// Access policies: which policy applies to a request, and whether a device meets its requirements
// (README: Access policies). Pure: no I/O, the clock is a parameter.
#include "core/policy/facts.hpp"
#include "core/policy/host_match.hpp"
#include "core/verdict/outcome.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ig {

// In the order they are checked: the first that fails names the denial.
enum class Requirement { Outcomes, Os, Encrypted, Jailbroken, Owner, MaxSyncAge };
inline constexpr std::array<std::string_view, 6> requirement_names{"outcomes",   "os",    "encrypted",
                                                                   "jailbroken", "owner", "max_sync_age_h"};
constexpr std::string_view to_string(Requirement r) { return requirement_names[static_cast<std::size_t>(r)]; }

struct Requirements {
    std::vector<Outcome> outcomes{Outcome::Compliant};
    std::vector<std::pair<std::string, std::string>> os;  // platform as written, minimum version
    std::optional<bool> encrypted;
    std::optional<bool> jailbroken;
    std::vector<std::string> owner;  // "company", "personal"
    std::optional<unsigned> max_sync_age_h;

    FactMask facts() const;  // what Graph must be asked for
};

enum class PolicyMode { Enforce, Report };

struct Policy {
    std::string name;
    std::vector<HostPattern> hosts;  // empty: any host
    std::vector<std::string> paths;  // normalised prefixes; empty: any path
    Requirements require;
    PolicyMode mode = PolicyMode::Enforce;
};

// The request as policies see it: request_host() and the match form of normalise_path().
struct RequestTarget {
    std::string_view host;
    std::string_view path;
};

bool policy_fits(const Policy& p, const RequestTarget& t);

// The first policy of the list whose match fits: it alone applies.
template <class Policies>
auto first_policy(const Policies& policies, const RequestTarget& t) -> decltype(&*std::begin(policies)) {
    for (const auto& p : policies)
        if (policy_fits(p, t)) return &p;
    return nullptr;
}

struct RequirementResult {
    Requirement requirement = Requirement::Outcomes;
    bool passed = false;
    std::string detail;  // one line, facts from Graph sanitised: "macOS 13.6.1 is older than 14.5"
};

// Every configured requirement's result, in order (the explain view).
std::vector<RequirementResult> check_requirements(const Requirements& r, Outcome outcome, const DeviceFacts& facts,
                                                  std::int64_t now_ms);

// The first that fails, or nothing when the device meets them all.
std::optional<RequirementResult> first_failure(const Requirements& r, Outcome outcome, const DeviceFacts& facts,
                                               std::int64_t now_ms);

}  // namespace ig
