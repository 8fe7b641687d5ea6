#pragma once
// The compliance core's inside (compliance.hpp is its face): shared by compliance.cpp (lookups,
// the shared cache) and compliance_sync.cpp (the full and the changes sync).
#include "core/shared/redis_client.hpp"
#include "core/text/log.hpp"
#include "core/verdict/compliance.hpp"
#include "core/verdict/graph_lookup.hpp"
#include "core/verdict/recheck_limit.hpp"
#include "core/verdict/verdict_cache.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace ig {
namespace net = boost::asio;

// How long a sync's verdict (full or changes, any outcome) stays valid: until the next full sync,
// due one interval after this one started, has rewritten it. The grace covers that sync's own
// run time (a 100,000-device tenant is 100 pages of a few seconds each); README: sync.
std::chrono::milliseconds sync_verdict_ttl(const IntuneConfig& cfg);

// A verdict's TTL: a sync's verdict lasts until the next full sync (sync_verdict_ttl), a lookup's
// the per-outcome TTL of `cache`.
std::chrono::milliseconds ttl_for(const Verdict& v, const IntuneConfig& cfg);

// How long this instance keeps a sync's verdict itself: with a shared cache and the changes sync,
// one changes interval, so that what another instance's changes round wrote to the shared cache
// is read from there (not from Graph) within that; else its full TTL (ttl_for).
std::chrono::milliseconds synced_local_ttl(const IntuneConfig& cfg);

// What is left of a verdict's TTL, counted from when Graph gave the answer.
inline std::chrono::milliseconds remaining_ttl(const Verdict& v, const IntuneConfig& cfg) {
    return ttl_for(v, cfg) - std::chrono::milliseconds(unix_ms() - v.fetched_at_ms);
}

struct ComplianceService::Impl : std::enable_shared_from_this<Impl> {
    Impl(net::any_io_executor io, const IntuneConfig& config, CoreMetrics& m);

    net::strand<net::any_io_executor> strand;
    CoreMetrics& metrics;
    VerdictCache cache;
    RecheckLimiter rechecks;  // any thread
    const std::string instance;  // this process, in lock and lease values
    std::atomic<TokenState> token_state{TokenState::Unknown};
    std::atomic<bool> stopped{false};
    // Touched only on the strand:
    std::shared_ptr<ConfiguredGraph> configured;
    std::shared_ptr<RedisClient> redis;  // null without a shared cache
    std::unordered_map<std::string, std::vector<Callback>> waiting;  // single-flight per device
    std::uint64_t flights = 0;  // numbers this instance's shared locks
    log::Throttle redis_log, poison_log;

    std::optional<net::steady_timer> refresh_timer;  // on the strand
    std::optional<net::steady_timer> sync_timer;  // on the strand
    bool sync_started = false;
    // Unix ms: the start of the last full or changes round whose devices are all in (this
    // instance's, or one another instance held the lease for); the changes sync asks for what
    // checked in since (changes_since_ms). Empty until the first round.
    std::optional<std::int64_t> changes_base_ms;

    // The verdict and how long to keep it here (the shared cache's remaining TTL for its values).
    struct Resolved {
        Verdict verdict;
        std::optional<std::chrono::milliseconds> ttl;
    };

    void make_redis(const IntuneConfig& config) {
        if (redis) redis->stop();
        redis.reset();
        if (!config.shared_cache.enabled) return;
        redis = std::make_shared<RedisClient>(strand, config.shared_cache, config.ca_file, metrics.shared.redis);
        redis->start();
    }

    void start(std::string id, Callback done, std::string request_id);
    static net::awaitable<Resolved> obtain(std::shared_ptr<Impl> self, std::shared_ptr<ConfiguredGraph> b,
                                           std::string id, std::optional<Verdict> local, std::string request_id);
    static net::awaitable<Resolved> resolve(std::shared_ptr<Impl> self, std::shared_ptr<ConfiguredGraph> b,
                                            std::string id, std::string request_id);
    static net::awaitable<std::optional<Resolved>> read_shared(std::shared_ptr<Impl> self,
                                                               std::shared_ptr<RedisClient> redis,
                                                               std::shared_ptr<ConfiguredGraph> b,
                                                               const std::string& id);
    std::optional<Resolved> shared_resolved(const std::shared_ptr<ConfiguredGraph>& b, const std::string& id,
                                            const std::string& text);
    std::optional<std::vector<std::string>> shared_set_command(const std::shared_ptr<ConfiguredGraph>& b,
                                                               const std::string& id, const Verdict& v) const;
    void write_shared(const std::shared_ptr<ConfiguredGraph>& b, const std::string& id, const Verdict& v);
    static net::awaitable<void> store_shared(std::shared_ptr<Impl> self, std::shared_ptr<ConfiguredGraph> b,
                                             std::string id, Verdict v);
    void shared_failed(const RedisReply& r, const char* step);
    static net::awaitable<void> keep_token_fresh(std::shared_ptr<Impl> self);
    static net::awaitable<void> keep_synced(std::shared_ptr<Impl> self);
    // A round of the full sync, of the changes sync: true when its devices are all in (or
    // another instance held the round's lease).
    static net::awaitable<bool> sync_once(std::shared_ptr<Impl> self);
    static net::awaitable<bool> changes_once(std::shared_ptr<Impl> self);
    // One round per `ttl` across instances (a Redis lease, SET NX PX): false when another instance
    // holds it. Without a shared cache, or when Redis fails, this instance runs the round.
    static net::awaitable<bool> take_lease(std::shared_ptr<Impl> self, std::string key, std::chrono::milliseconds ttl);
    // A sync's verdict (full or changes) into the local and the shared cache.
    void apply_synced(const std::shared_ptr<ConfiguredGraph>& b, const std::string& id, Verdict v);
    void finish(const std::string& id, Resolved r);
};

}  // namespace ig
