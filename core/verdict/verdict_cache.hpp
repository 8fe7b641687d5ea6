#pragma once
// Verdicts per device ID with a TTL each, bounded (LRU), safe from any thread.
#include "core/shared/shared_value.hpp"
#include "core/verdict/metrics.hpp"
#include "core/verdict/verdict.hpp"

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

    // The entry as it is, for the help desk: fresh, or expired but kept for stale-if-error (then
    // source Stale and ttl_s 0).
    std::optional<CacheEntryInfo> inspect(std::string_view device_id, Clock::time_point now = Clock::now(),
                                          std::int64_t now_ms = unix_ms()) const;

    // The last answer for the device, expired or not, when Graph gave it at most max_age_ms ago
    // (stale-if-error): marked source Stale with its age.
    std::optional<Verdict> get_stale(std::string_view device_id, std::int64_t max_age_ms,
                                     std::int64_t now_ms = unix_ms());

    // The device facts a fresh entry must hold (intune.facts): one read before a reload that now
    // needs more is a miss, so that device alone is read from Graph again.
    void set_required_facts(FactMask facts);

    // How long expired entries are kept for get_stale() (0: dropped when they expire).
    void set_retain_expired(std::chrono::milliseconds retain);

    bool erase(std::string_view device_id);

    // ttl <= 0 stores nothing.
    void put(const std::string& device_id, Verdict verdict, std::chrono::milliseconds ttl,
             Clock::time_point now = Clock::now());

    void clear();
    void set_max_entries(std::size_t max_entries);
    std::size_t size() const;

private:
    struct Entry {
        std::string id;
        Verdict verdict;
        Clock::time_point expires;
    };
    using List = std::list<Entry>;  // front = most recently used

    void erase(List::iterator it);
    void evict_to(std::size_t limit);

    mutable std::mutex mutex_;
    std::size_t max_entries_;
    Gauge* size_gauge_;
    std::int64_t retain_ms_ = 0;
    FactMask required_facts_ = 0;
    List lru_;
    std::unordered_map<std::string_view, List::iterator> index_;  // keys view into Entry::id
};

}  // namespace ig
