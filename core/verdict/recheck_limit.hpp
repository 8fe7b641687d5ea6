#pragma once
// How often "Check again" may ask Graph for one device (README: `intune.recheck_interval_s`): each
// recheck drops the device's verdict and costs a Graph call, and the button is one click away.
// The table of devices rechecked within the interval is bounded (a client with many device
// certificates must not grow it without end): devices leave it as their interval passes, oldest
// first; when it is full of devices still within theirs, a further recheck is refused (the Graph
// budget matters more than one more recheck). Thread-safe: the front end's workers and the
// authorization endpoint share one.
#include <chrono>
#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace ig {

class RecheckLimiter {
public:
    using Clock = std::chrono::steady_clock;
    // At most this many devices are remembered (each ~200 bytes: about 2 MB).
    static constexpr std::size_t default_max_devices = 10'000;

    enum class Admit {
        Now,  // recheck now: remembered until `interval` has passed
        TooSoon,  // this device was rechecked within the interval
        Full,  // max_devices other devices were, each within its interval
    };

    explicit RecheckLimiter(std::size_t max_devices = default_max_devices) : max_(max_devices) {}

    Admit admit(std::string_view device_id, Clock::duration interval, Clock::time_point now = Clock::now());

    std::size_t size() const;

private:
    mutable std::mutex mutex_;
    std::size_t max_;
    std::deque<std::pair<Clock::time_point, std::string>> order_;  // oldest first
    std::unordered_map<std::string, Clock::time_point> last_;  // the same devices, by ID
};

}  // namespace ig
