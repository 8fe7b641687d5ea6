#include "core/verdict/verdict_cache.hpp"

#include <algorithm>

namespace ig {

VerdictCache::VerdictCache(std::size_t max_entries, Gauge* size_gauge)
    : max_entries_(max_entries), size_gauge_(size_gauge) {}

std::optional<Verdict> VerdictCache::get(std::string_view device_id, Clock::time_point now) {
    std::lock_guard lock(mutex_);
    auto it = index_.find(device_id);
    if (it == index_.end()) return std::nullopt;
    auto entry = it->second;
    if (entry->expires <= now) {
        // Kept for stale-if-error while Graph's answer is young enough; dropped otherwise.
        if (retain_ms_ <= 0 || unix_ms() - entry->verdict.fetched_at_ms > retain_ms_) erase(entry);
        return std::nullopt;
    }
    if (!entry->verdict.facts.has(required_facts_)) return std::nullopt;
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
        it->second->expires = now + ttl;
        lru_.splice(lru_.begin(), lru_, it->second);
        return;
    }
    evict_to(max_entries_ - 1);
    lru_.push_front(Entry{device_id, std::move(verdict), now + ttl});
    index_.emplace(lru_.front().id, lru_.begin());
    if (size_gauge_) size_gauge_->set(static_cast<std::int64_t>(lru_.size()));
}

std::optional<CacheEntryInfo> VerdictCache::inspect(std::string_view device_id, Clock::time_point now,
                                                    std::int64_t now_ms) const {
    std::lock_guard lock(mutex_);
    auto it = index_.find(device_id);
    if (it == index_.end()) return std::nullopt;
    CacheEntryInfo info;
    info.verdict = it->second->verdict;
    info.age_s =
        info.verdict.fetched_at_ms > 0 ? std::max<std::int64_t>(0, (now_ms - info.verdict.fetched_at_ms) / 1000) : 0;
    if (it->second->expires <= now) {
        // Expired but kept for stale-if-error: shown as what it is now, a stale answer.
        if (retain_ms_ <= 0 || info.verdict.fetched_at_ms <= 0 || now_ms - info.verdict.fetched_at_ms > retain_ms_)
            return std::nullopt;
        info.verdict.source = VerdictSource::Stale;
        info.ttl_s = 0;
        return info;
    }
    info.ttl_s = std::chrono::duration_cast<std::chrono::seconds>(it->second->expires - now).count();
    return info;
}

std::optional<Verdict> VerdictCache::get_stale(std::string_view device_id, std::int64_t max_age_ms,
                                               std::int64_t now_ms) {
    std::lock_guard lock(mutex_);
    auto it = index_.find(device_id);
    if (it == index_.end()) return std::nullopt;
    const Verdict& kept = it->second->verdict;
    if (kept.outcome == Outcome::Error || kept.fetched_at_ms <= 0) return std::nullopt;
    const auto age = now_ms - kept.fetched_at_ms;
    if (age < 0 || age > max_age_ms) return std::nullopt;
    Verdict v = kept;
    v.source = VerdictSource::Stale;
    v.stale_age_s = age / 1000;
    v.cache_hit = true;
    v.graph_ms = 0;
    return v;
}

void VerdictCache::set_required_facts(FactMask facts) {
    std::lock_guard lock(mutex_);
    required_facts_ = facts;
}

void VerdictCache::set_retain_expired(std::chrono::milliseconds retain) {
    std::lock_guard lock(mutex_);
    retain_ms_ = retain.count();
}

bool VerdictCache::erase(std::string_view device_id) {
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
