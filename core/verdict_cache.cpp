#include "core/verdict_cache.hpp"

namespace ig {

VerdictCache::VerdictCache(std::size_t max_entries, Gauge* size_gauge)
    : max_entries_(max_entries), size_gauge_(size_gauge) {}

std::optional<Verdict> VerdictCache::get(std::string_view device_id, Clock::time_point now) {
    std::lock_guard lock(mutex_);
    auto it = index_.find(device_id);
    if (it == index_.end()) return std::nullopt;
    auto entry = it->second;
    if (entry->expires <= now) {
        erase(entry);
        return std::nullopt;
    }
    lru_.splice(lru_.begin(), lru_, entry);
    Verdict v = entry->verdict;
    v.cache_hit = true;
    v.graph_ms = 0;
    return v;
}

void VerdictCache::put(const std::string& device_id, Verdict verdict, std::chrono::milliseconds ttl,
                       Clock::time_point now) {
    if (ttl <= std::chrono::milliseconds::zero() || max_entries_ == 0) return;
    std::lock_guard lock(mutex_);
    verdict.cache_hit = false;
    if (auto it = index_.find(device_id); it != index_.end()) {
        it->second->verdict = std::move(verdict);
        it->second->stored = now;
        it->second->expires = now + ttl;
        lru_.splice(lru_.begin(), lru_, it->second);
        return;
    }
    evict_to(max_entries_ - 1);
    lru_.push_front(Entry{device_id, std::move(verdict), now, now + ttl});
    index_.emplace(lru_.front().id, lru_.begin());
    if (size_gauge_) size_gauge_->set(static_cast<std::int64_t>(lru_.size()));
}

std::optional<CachedVerdict> VerdictCache::inspect(std::string_view device_id, Clock::time_point now) const {
    std::lock_guard lock(mutex_);
    auto it = index_.find(device_id);
    if (it == index_.end() || it->second->expires <= now) return std::nullopt;
    const Entry& e = *it->second;
    using std::chrono::duration_cast;
    using std::chrono::seconds;
    return CachedVerdict{e.verdict, duration_cast<seconds>(now - e.stored), duration_cast<seconds>(e.expires - e.stored)};
}

bool VerdictCache::invalidate(std::string_view device_id) {
    std::lock_guard lock(mutex_);
    auto it = index_.find(device_id);
    if (it == index_.end()) return false;
    erase(it->second);
    return true;
}

void VerdictCache::erase(List::iterator it) {
    index_.erase(std::string_view(it->id));
    lru_.erase(it);
    if (size_gauge_) size_gauge_->set(static_cast<std::int64_t>(lru_.size()));
}

// Drops the least recently used entries until at most limit remain.
void VerdictCache::evict_to(std::size_t limit) {
    while (lru_.size() > limit) erase(std::prev(lru_.end()));
}

void VerdictCache::clear() {
    std::lock_guard lock(mutex_);
    index_.clear();
    lru_.clear();
    if (size_gauge_) size_gauge_->set(0);
}

void VerdictCache::set_max_entries(std::size_t max_entries) {
    std::lock_guard lock(mutex_);
    max_entries_ = max_entries;
    evict_to(max_entries_);
}

std::size_t VerdictCache::size() const {
    std::lock_guard lock(mutex_);
    return lru_.size();
}

}  // namespace ig
