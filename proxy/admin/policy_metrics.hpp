#pragma once
// Access-policy counters (README: Access policies, "Seeing it"): results per policy and failed
// requirements per policy. The labels come from the config (policy names), so the series are kept
// in a map under a mutex; a policy removed by a reload keeps its series until restart.
#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

namespace ig {

class PolicyCounters {
public:
    // result: "allow", "deny", "report"; requirement: empty for allow.
    void count(std::string_view policy, std::string_view result, std::string_view requirement) {
        std::lock_guard lock(mutex_);
        ++results_[{std::string(policy), std::string(result)}];
        if (!requirement.empty()) ++failures_[{std::string(policy), std::string(requirement)}];
    }
    using Series = std::map<std::pair<std::string, std::string>, std::uint64_t, std::less<>>;
    std::pair<Series, Series> snapshot() const {
        std::lock_guard lock(mutex_);
        return {results_, failures_};
    }

private:
    mutable std::mutex mutex_;
    Series results_;  // (policy, result)
    Series failures_;  // (policy, requirement)
};

}  // namespace ig
