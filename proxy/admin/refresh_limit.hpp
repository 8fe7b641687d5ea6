#pragma once
// How often the help desk's POST /devices/{id}/refresh may ask Graph (issue 26 #8): each refresh is
// a Graph call, so a script (or a stolen admin token) could otherwise spend the tenant's Graph
// budget. Per device: one refresh per `per_device`; overall: a bucket of `burst` refreshes refilled
// at `per_second`. Used on the admin thread only.
#include <chrono>
#include <optional>
#include <string>
#include <unordered_map>

namespace ig {

struct RefreshLimits {
    std::chrono::milliseconds per_device{10'000};
    double per_second = 2;
    double burst = 20;
};

class RefreshLimiter {
public:
    using Clock = std::chrono::steady_clock;
    explicit RefreshLimiter(RefreshLimits limits = {}) : limits_(limits), tokens_(limits.burst) {}

    // nullopt: the refresh may go now (and is counted); otherwise the whole seconds to wait.
    std::optional<std::chrono::seconds> admit(const std::string& device_id, Clock::time_point now = Clock::now());

private:
    RefreshLimits limits_;
    double tokens_;
    Clock::time_point refilled_{};
    std::unordered_map<std::string, Clock::time_point> last_;  // per device, pruned as they pass
};

}  // namespace ig
