#pragma once
// Lock-free counters shared by the core and the proxy; the admin listener renders them.
#include <array>
#include <atomic>
#include <cstdint>
#include <string_view>

namespace ig {

class Counter {
public:
    void inc(std::uint64_t n = 1) noexcept { v_.fetch_add(n, std::memory_order_relaxed); }
    std::uint64_t get() const noexcept { return v_.load(std::memory_order_relaxed); }

private:
    std::atomic<std::uint64_t> v_{0};
};

class Gauge {
public:
    void add(std::int64_t n) noexcept { v_.fetch_add(n, std::memory_order_relaxed); }
    void set(std::int64_t n) noexcept { v_.store(n, std::memory_order_relaxed); }
    std::int64_t get() const noexcept { return v_.load(std::memory_order_relaxed); }

private:
    std::atomic<std::int64_t> v_{0};
};

// Fixed buckets in seconds, Prometheus-style (cumulative when rendered).
class Histogram {
public:
    static constexpr std::array<double, 12> bounds{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0};
    void observe(double seconds) noexcept {
        std::size_t i = 0;
        while (i < bounds.size() && seconds > bounds[i]) ++i;
        buckets_[i].inc();
        sum_micros_.inc(static_cast<std::uint64_t>(seconds * 1e6));
    }
    std::uint64_t bucket(std::size_t i) const noexcept { return buckets_[i].get(); }  // i == bounds.size() is +Inf
    std::uint64_t count() const noexcept {
        std::uint64_t n = 0;
        for (auto& b : buckets_) n += b.get();
        return n;
    }
    double sum() const noexcept { return static_cast<double>(sum_micros_.get()) / 1e6; }

private:
    std::array<Counter, bounds.size() + 1> buckets_{};
    Counter sum_micros_;
};

// What the shared cache (Redis) counts.
struct RedisMetrics {
    Counter commands;  // commands answered
    Counter failures;  // commands with no usable reply (down, timed out, error reply, garbage)
    Counter connects;  // connections established
    Counter connect_failures;  // connection attempts that failed
    Gauge up;  // 1 while connected
};

struct SharedCacheMetrics {
    RedisMetrics redis;
    Counter hits;  // local miss answered by the shared cache
    Counter misses;  // nothing there
    Counter fallbacks;  // the shared cache did not answer (in time): local cache and Graph instead
    Counter ignored;  // values read back that were not ours / another device's / inconsistent
    Counter lock_waits;  // lookups that waited for another instance's Graph call
    Counter writes;  // verdicts written
};

struct SyncMetrics {
    Counter runs_ok, runs_failed, runs_skipped;  // skipped: another instance held the lease
    Counter pages;  // pages read, all runs
    Counter devices;  // verdicts refreshed, all runs
    Gauge last_duration_ms, last_pages, last_devices, last_end_unix;
    // The changes sync (README: sync.changes_interval_s); discarded: the answer failed the guard
    // against an ignored filter.
    Counter changes_ok, changes_discarded, changes_failed, changes_skipped;
    Counter changes_devices;  // verdicts refreshed by changes rounds
};

// What the compliance core counts.
struct CoreMetrics {
    std::array<Counter, 600> graph_calls_by_status{};  // index = HTTP status; 0 = no HTTP answer
    Histogram graph_latency;  // per Graph HTTP call
    Counter token_fetches;  // token requests sent
    Counter token_failures;  // token requests that gave no token
    Counter cache_hits;
    Counter cache_misses;
    Gauge cache_size;
    Counter apps_failures;  // installed-apps reads that failed
    Counter stale_served;  // Graph failed; an older answer stood in
    Counter graph_held;  // Graph requests not sent: Graph asked to back off (GraphClient::note_backoff)
    SharedCacheMetrics shared;
    SyncMetrics sync;

    void count_graph_call(unsigned status) noexcept {
        graph_calls_by_status[status < graph_calls_by_status.size() ? status : 0].inc();
    }
};

}  // namespace ig
