#include "core/verdict/recheck_limit.hpp"

namespace ig {

RecheckLimiter::Admit RecheckLimiter::admit(std::string_view device_id, Clock::duration interval,
                                            Clock::time_point now) {
    std::lock_guard lock(mutex_);
    // Forget the devices whose interval has passed; the times only grow, so they are at the front.
    while (!order_.empty() && now - order_.front().first >= interval) {
        if (auto it = last_.find(order_.front().second); it != last_.end() && it->second == order_.front().first)
            last_.erase(it);
        order_.pop_front();
    }
    std::string id(device_id);
    if (auto it = last_.find(id); it != last_.end() && now - it->second < interval) return Admit::TooSoon;
    if (last_.size() >= max_) return Admit::Full;
    last_[id] = now;
    order_.emplace_back(now, std::move(id));
    return Admit::Now;
}

std::size_t RecheckLimiter::size() const {
    std::lock_guard lock(mutex_);
    return last_.size();
}

}  // namespace ig
