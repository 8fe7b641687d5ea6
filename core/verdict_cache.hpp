#pragma once
// Verdicts per device ID with a TTL each, bounded (LRU), safe from any thread.
#include "core/compliance.hpp"
#include "core/metrics.hpp"

#include <chrono>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace ig {

class VerdictCache {
public:
    using Clock = std::chrono::steady_clock;

    VerdictCache(std::size_t max_entries, Gauge* size_gauge = nullptr);

    // A fresh entry (marked cache_hit, graph_ms 0), or nothing; an expired one is dropped.
    std::optional<Verdict> get(std::string_view device_id, Clock::time_point now = Clock::now());

    // ttl <= 0 stores nothing.
    void put(const std::string& device_id, Verdict verdict, std::chrono::milliseconds ttl,
             Clock::time_point now = Clock::now());

    // The entry as it is, fresh or not yet dropped, without touching the LRU order; nothing when
    // absent or expired.
    std::optional<CachedVerdict> inspect(std::string_view device_id, Clock::time_point now = Clock::now()) const;

    // Drops the entry; true when there was one.
    bool invalidate(std::string_view device_id);

    void clear();
    void set_max_entries(std::size_t max_entries);
    std::size_t size() const;

private:
    struct Entry {
        std::string id;
        Verdict verdict;
        Clock::time_point stored;
        Clock::time_point expires;
    };
    using List = std::list<Entry>;  // front = most recently used

    void erase(List::iterator it);
    void evict_to(std::size_t limit);

    mutable std::mutex mutex_;
    std::size_t max_entries_;
    Gauge* size_gauge_;
    List lru_;
    std::unordered_map<std::string_view, List::iterator> index_;  // keys view into Entry::id
};

}  // namespace ig
