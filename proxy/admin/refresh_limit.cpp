#include "proxy/admin/refresh_limit.hpp"

#include <algorithm>
#include <cmath>

namespace ig {

namespace {
std::chrono::seconds whole_seconds(std::chrono::duration<double> d) {
    return std::chrono::seconds(std::max<long long>(1, static_cast<long long>(std::ceil(d.count()))));
}
}  // namespace

std::optional<std::chrono::seconds> RefreshLimiter::admit(const std::string& device_id, Clock::time_point now) {
    if (refilled_ == Clock::time_point{} || now < refilled_) refilled_ = now;
    const std::chrono::duration<double> since = now - refilled_;
    tokens_ = std::min(limits_.burst, tokens_ + since.count() * limits_.per_second);
    refilled_ = now;

    if (last_.size() > 4096)  // bounded: only devices refreshed within per_device stay
        std::erase_if(last_, [&](const auto& e) { return now - e.second >= limits_.per_device; });
    if (auto it = last_.find(device_id); it != last_.end() && now - it->second < limits_.per_device)
        return whole_seconds(limits_.per_device - (now - it->second));
    if (tokens_ < 1) return whole_seconds(std::chrono::duration<double>((1 - tokens_) / limits_.per_second));
    tokens_ -= 1;
    last_[device_id] = now;
    return std::nullopt;
}

}  // namespace ig
