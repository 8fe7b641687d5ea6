#include "core/verdict/compliance.hpp"

#include "core/verdict/compliance_impl.hpp"

#include "core/graph/device_sync.hpp"
#include "core/identity/device_id.hpp"
#include "core/shared/redis_client.hpp"
#include "core/shared/shared_flight.hpp"
#include "core/shared/shared_value.hpp"
#include "core/text/log.hpp"
#include "core/text/text.hpp"
#include "core/verdict/decision.hpp"
#include "core/verdict/graph_lookup.hpp"
#include "core/verdict/recheck_limit.hpp"
#include "core/verdict/verdict_cache.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <atomic>
#include <random>
#include <unordered_map>
#include <vector>

namespace ig {
namespace net = boost::asio;

namespace {

bool same_connection(const IntuneConfig& a, const IntuneConfig& b) { return a.connection() == b.connection(); }

// The verdicts of one tenant under the same rules and TTLs stay valid.
bool same_verdicts(const IntuneConfig& a, const IntuneConfig& b) {
    return a.tenant() == b.tenant() && a.rules() == b.rules() && a.cache.ttls() == b.cache.ttls();
}

std::string random_token() {
    std::random_device rd;
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (int i = 0; i < 16; ++i) out += hex[rd() & 15];
    return out;
}

}  // namespace

std::chrono::milliseconds sync_verdict_ttl(const IntuneConfig& cfg) {
    const auto interval = std::chrono::duration_cast<std::chrono::milliseconds>(cfg.sync.interval);
    return interval + std::min<std::chrono::milliseconds>(interval, std::chrono::minutes(10));
}

std::chrono::milliseconds ttl_for(const Verdict& v, const IntuneConfig& cfg) {
    if (v.source == VerdictSource::Sync && cfg.sync.interval.count() > 0) return sync_verdict_ttl(cfg);
    const auto ttl = v.outcome == Outcome::Compliant ? cfg.cache.compliant_ttl : cfg.cache.other_ttl;
    return std::chrono::duration_cast<std::chrono::milliseconds>(ttl);
}

std::chrono::milliseconds synced_local_ttl(const IntuneConfig& cfg) {
    if (cfg.shared_cache.enabled && cfg.sync.changes_interval.count() > 0)
        return std::chrono::duration_cast<std::chrono::milliseconds>(cfg.sync.changes_interval);
    return sync_verdict_ttl(cfg);
}

ComplianceService::Impl::Impl(net::any_io_executor io, const IntuneConfig& config, CoreMetrics& m)
    : strand(net::make_strand(io)),
      metrics(m),
      cache(config.cache.max_entries, &m.cache_size),
      instance(random_token()),
      configured(
          std::make_shared<ConfiguredGraph>(config, m, std::make_shared<GraphConnection>(config, m, token_state))) {
    cache.set_retain_expired(std::chrono::duration_cast<std::chrono::milliseconds>(config.stale_if_error));
    cache.set_required_facts(config.facts);
    make_redis(config);
}

void ComplianceService::Impl::shared_failed(const RedisReply& r, const char* step) {
    metrics.shared.fallbacks.inc();
    // Down is logged once by the client; timeouts and error replies (e.g. OOM) at most once a minute.
    if (redis && redis->connected() && redis_log.allow())
        log::warn("shared cache did not answer, using the local cache and Graph",
                  {{"step", step}, {"reason", one_line(r.str, 200)}});
}

net::awaitable<std::optional<ComplianceService::Impl::Resolved>> ComplianceService::Impl::read_shared(
    std::shared_ptr<Impl> self, std::shared_ptr<RedisClient> redis, std::shared_ptr<ConfiguredGraph> b,
    const std::string& id) {
    const auto& sc = b->config.shared_cache;
    // (Named vectors: GCC 12 miscompiles braced string lists inside co_await expressions.)
    std::vector<std::string> get{"GET", shared_verdict_key(sc.key_prefix, id)};
    auto r = co_await redis->command(std::move(get), Clock::now() + sc.timeout);
    if (r.type == RedisReply::Type::Nil) {
        self->metrics.shared.misses.inc();
        co_return std::nullopt;
    }
    if (r.type != RedisReply::Type::String) {
        self->shared_failed(r, "read");
        co_return std::nullopt;
    }
    co_return self->shared_resolved(b, id, r.str);
}

// A value read from the shared cache (outside input): the verdict it holds, or nothing when it is not ours.
std::optional<ComplianceService::Impl::Resolved> ComplianceService::Impl::shared_resolved(
    const std::shared_ptr<ConfiguredGraph>& b, const std::string& id, const std::string& text) {
    std::string why;
    const auto now = unix_ms();
    auto value = decode_shared_value(text, id, now, &why, b->config.facts);
    if (!value) {
        metrics.shared.ignored.inc();
        if (poison_log.allow()) log::warn("shared cache value ignored", {{"device_id", id}, {"reason", why}});
        return std::nullopt;
    }
    metrics.shared.hits.inc();
    Resolved out;
    out.verdict = std::move(value->verdict);
    cap_verdict_facts(out.verdict, b->config);  // written under another config, or by anyone (issue 26 #15)
    out.verdict.apps_pending =
        b->config.save_installed_apps && !out.verdict.apps_json && !out.verdict.compliance_state.empty();
    // A value the sync wrote (README: sync) is kept here as the sync's own verdicts are; any other
    // at most the outcome's TTL.
    auto cap = ttl_for(out.verdict, b->config);
    if (b->config.sync.interval.count() > 0) cap = std::max(cap, synced_local_ttl(b->config));
    out.ttl = std::min(cap, std::chrono::milliseconds(value->expires_at_ms - now));
    return out;
}

std::optional<std::vector<std::string>> ComplianceService::Impl::shared_set_command(
    const std::shared_ptr<ConfiguredGraph>& b, const std::string& id, const Verdict& v) const {
    if (!redis || !redis->connected() || v.outcome == Outcome::Error) return std::nullopt;
    const auto left = remaining_ttl(v, b->config);
    if (left.count() <= 0) return std::nullopt;
    auto value = encode_shared_value(id, v, v.fetched_at_ms + ttl_for(v, b->config).count());
    if (value.empty()) return std::nullopt;
    return std::vector<std::string>{"SET", shared_verdict_key(b->config.shared_cache.key_prefix, id), std::move(value),
                                    "PX", std::to_string(left.count())};
}

void ComplianceService::Impl::write_shared(const std::shared_ptr<ConfiguredGraph>& b, const std::string& id,
                                           const Verdict& v) {
    if (auto set = shared_set_command(b, id, v); set && redis->send(*set)) metrics.shared.writes.inc();
}

// On a request's path the write is waited for (at most the shared cache's timeout): once a client
// has its answer, every instance finds the verdict in Redis.
net::awaitable<void> ComplianceService::Impl::store_shared(std::shared_ptr<Impl> self,
                                                           std::shared_ptr<ConfiguredGraph> b, std::string id,
                                                           Verdict v) {
    auto set = self->shared_set_command(b, id, v);
    if (!set) co_return;
    auto redis = self->redis;
    auto r = co_await redis->command(std::move(*set), Clock::now() + b->config.shared_cache.timeout);
    if (r.ok_status())
        self->metrics.shared.writes.inc();
    else
        self->shared_failed(r, "write");
}

// Local miss: the shared cache, then Graph. Across instances one of them asks Graph for a device
// (core/shared/shared_flight.cpp); the others take its answer, its Error included.
net::awaitable<ComplianceService::Impl::Resolved> ComplianceService::Impl::resolve(std::shared_ptr<Impl> self,
                                                                                   std::shared_ptr<ConfiguredGraph> b,
                                                                                   std::string id,
                                                                                   std::string request_id) {
    const auto deadline = Clock::now() + b->config.timeout;
    auto redis = self->redis;
    std::optional<SharedFlight> flight;
    if (redis && redis->connected()) {
        if (auto hit = co_await read_shared(self, redis, b, id)) co_return std::move(*hit);
        const auto now = unix_ms();
        flight.emplace(redis, b->config.shared_cache.key_prefix, id,
                       self->instance + ":" + std::to_string(++self->flights),
                       std::chrono::duration_cast<std::chrono::milliseconds>(b->config.timeout),
                       [id, now, facts = b->config.facts](const std::string& text) {
                           return decode_shared_value(text, id, now, nullptr, facts).has_value();
                       });
        bool waited = false;
        auto wait = co_await flight->join(deadline, &waited);
        if (waited) self->metrics.shared.lock_waits.inc();
        if (wait.kind == FlightWait::Kind::Value) {
            if (auto hit = self->shared_resolved(b, id, wait.text)) co_return std::move(*hit);
        }
        if (wait.kind == FlightWait::Kind::HolderError) co_return Resolved{error_verdict(wait.text), std::nullopt};
        if (wait.kind != FlightWait::Kind::Lead) flight.reset();
        // The holder's lookup ran to the deadline; a waiter with no time left does not start another.
        if (waited && !flight && deadline - Clock::now() < std::chrono::milliseconds(100))
            co_return Resolved{error_verdict("no answer in time from the instance asking Graph"), std::nullopt};
    }
    Resolved out;
    out.verdict = co_await ask_graph(b, id, deadline, std::move(request_id));
    co_await store_shared(self, b, id, out.verdict);
    // After the value (same connection, so in order): waiters see the answer, then the lock goes.
    if (flight) flight->release(out.verdict.outcome == Outcome::Error ? &out.verdict.reason : nullptr);
    co_return out;
}

// A verdict from the local cache or, on a miss, from resolve(); then the installed apps when they
// are still to be read (one Graph call per device, never the device itself again).
net::awaitable<ComplianceService::Impl::Resolved> ComplianceService::Impl::obtain(std::shared_ptr<Impl> self,
                                                                                  std::shared_ptr<ConfiguredGraph> b,
                                                                                  std::string id,
                                                                                  std::optional<Verdict> local,
                                                                                  std::string request_id) {
    Resolved r;
    if (local) {
        r.ttl = remaining_ttl(*local, b->config);
        r.verdict = std::move(*local);
    } else {
        r = co_await resolve(self, b, id, request_id);
    }
    if (r.verdict.apps_pending) {
        const auto start = Clock::now();
        const auto& apps_id = r.verdict.managed_device_id.empty() ? id : r.verdict.managed_device_id;
        co_await read_installed_apps(b, apps_id, r.verdict, start + b->config.timeout, request_id);
        r.verdict.graph_ms += std::chrono::duration<double, std::milli>(Clock::now() - start).count();
        co_await store_shared(self, b, id, r.verdict);
    }
    co_return r;
}

void ComplianceService::Impl::start(std::string id, Callback done, std::string request_id) {
    auto local = cache.get(id);
    if (local && !local->apps_pending) {
        metrics.cache_hits.inc();
        if (!stopped) done(std::move(*local));
        return;
    }
    (local ? metrics.cache_hits : metrics.cache_misses).inc();
    auto [it, first] = waiting.try_emplace(id);
    it->second.push_back(std::move(done));
    if (!first) return;
    net::co_spawn(strand, obtain(shared_from_this(), configured, id, std::move(local), std::move(request_id)),
                  [self = shared_from_this(), id](std::exception_ptr e, Resolved r) {
                      if (e) r = Resolved{error_verdict("internal error in the compliance lookup"), std::nullopt};
                      self->finish(id, std::move(r));
                  });
}

void ComplianceService::Impl::finish(const std::string& id, Resolved r) {
    const auto& cfg = configured->config;
    Verdict& v = r.verdict;
    if (v.outcome != Outcome::Error) {
        auto ttl = r.ttl ? *r.ttl : ttl_for(v, cfg);
        if (v.source == VerdictSource::Sync) ttl = std::min(ttl, synced_local_ttl(cfg));
        cache.put(id, v, ttl);
    } else if (cfg.stale_if_error.count() > 0 && v.compliance_state.empty()) {
        // Only when Graph gave no state: complianceState "error" is Graph's answer, not its failure.
        const auto max_age = std::chrono::duration_cast<std::chrono::milliseconds>(cfg.stale_if_error).count();
        if (auto stale = cache.get_stale(id, max_age)) {
            metrics.stale_served.inc();
            log::warn("graph failed, serving the last known verdict", {{"device_id", id},
                                                                       {"reason", v.reason},
                                                                       {"age_s", *stale->stale_age_s},
                                                                       {"outcome", to_string(stale->outcome)}});
            stale->graph_ms = v.graph_ms;
            v = std::move(*stale);
        }
    }
    log::event(v.outcome == Outcome::Error ? "warn" : "info", "compliance lookup",
               {{"device_id", id},
                {"outcome", to_string(v.outcome)},
                {"compliance_state", v.compliance_state},
                {"source", to_string(v.source)},
                {"reason", v.reason},
                {"graph_ms", v.graph_ms}});
    auto node = waiting.extract(id);
    if (node.empty() || stopped) return;
    for (auto& cb : node.mapped()) {
        try {
            cb(v);
        } catch (const std::exception& ex) {
            log::error("compliance callback threw", {{"what", ex.what()}});
        }
    }
}

// Asks the token source every minute: it answers from its cache until shortly before the token
// expires, then fetches a new one, so the refresh happens here and not on a request. After a
// failure it tries again sooner, which is also the only retry: requests never queue behind it.
net::awaitable<void> ComplianceService::Impl::keep_token_fresh(std::shared_ptr<Impl> self) {
    constexpr auto period = std::chrono::seconds(60);
    constexpr auto after_failure = std::chrono::seconds(10);
    self->refresh_timer.emplace(self->strand);
    while (!self->stopped) {
        auto b = self->configured;  // a reload may replace it between rounds
        auto result = co_await b->connection->tokens.get(Clock::now() + b->config.timeout);
        if (self->stopped) break;
        self->refresh_timer->expires_after(result.ok ? period : after_failure);
        boost::system::error_code ec;
        co_await self->refresh_timer->async_wait(net::redirect_error(net::use_awaitable, ec));
    }
}

void ComplianceService::start_token_refresh() {
    net::co_spawn(impl_->strand, Impl::keep_token_fresh(impl_), net::detached);
    net::post(impl_->strand, [impl = impl_] {
        if (impl->sync_started) return;
        impl->sync_started = true;
        net::co_spawn(impl->strand, Impl::keep_synced(impl), net::detached);
    });
}

ComplianceService::ComplianceService(net::any_io_executor io, const IntuneConfig& config, CoreMetrics& metrics)
    : io_(io), impl_(std::make_shared<Impl>(io, config, metrics)) {}

ComplianceService::~ComplianceService() {
    impl_->stopped = true;
    // Idle pooled connections go with the ConfiguredGraph once the last lookup lets go of it.
    try {
        net::post(impl_->strand, [impl = impl_] {
            if (impl->refresh_timer) impl->refresh_timer->cancel();
            if (impl->sync_timer) impl->sync_timer->cancel();
            if (impl->redis) impl->redis->stop();
            impl->configured->connection->http.close_idle();
        });
    } catch (...) {  // posting can only fail for want of memory; the timers then end with the io_context
    }
}

std::optional<Verdict> ComplianceService::cached(std::string_view device_id) {
    auto v = impl_->cache.get(device_id);
    if (!v || v->apps_pending) return std::nullopt;  // lookup() reads the apps
    impl_->metrics.cache_hits.inc();
    return v;
}

bool ComplianceService::admit_recheck(std::string_view device_id, std::chrono::seconds interval) {
    return impl_->rechecks.admit(device_id, interval) == RecheckLimiter::Admit::Now;
}

void ComplianceService::look_up_uncached(std::string device_id, Callback done) {
    auto once = [](std::shared_ptr<Impl> impl, std::optional<std::string> id) -> net::awaitable<Verdict> {
        if (!id) co_return error_verdict("invalid device id");
        co_return co_await ask_graph(impl->configured, *id, Clock::now() + impl->configured->config.timeout, {});
    };
    net::co_spawn(impl_->strand, once(impl_, normalize_guid(device_id)),
                  [done = std::move(done)](std::exception_ptr e, Verdict v) {
                      done(e ? error_verdict("internal error in the compliance lookup") : std::move(v));
                  });
}

void ComplianceService::lookup(std::string device_id, Callback done, std::string request_id) {
    auto id = normalize_guid(device_id);
    net::post(impl_->strand,
              [impl = impl_, id = std::move(id), done = std::move(done), rid = std::move(request_id)]() mutable {
                  if (!id) {
                      if (!impl->stopped) done(error_verdict("invalid device id"));
                      return;
                  }
                  impl->start(std::move(*id), std::move(done), std::move(rid));
              });
}

void ComplianceService::reconfigure(const IntuneConfig& config) {
    net::post(impl_->strand, [impl = impl_, config] {
        const IntuneConfig old = impl->configured->config;
        const bool keep_cache = same_verdicts(old, config);
        const bool keep_connection = same_connection(old, config);
        auto connection = keep_connection ? impl->configured->connection
                                          : std::make_shared<GraphConnection>(config, impl->metrics, impl->token_state);
        impl->configured = std::make_shared<ConfiguredGraph>(config, impl->metrics, std::move(connection));
        if (!keep_connection) impl->token_state = TokenState::Unknown;
        impl->cache.set_max_entries(config.cache.max_entries);
        impl->cache.set_retain_expired(std::chrono::duration_cast<std::chrono::milliseconds>(config.stale_if_error));
        impl->cache.set_required_facts(config.facts);
        if (!keep_cache) impl->cache.clear();
        if (old.shared_cache != config.shared_cache) impl->make_redis(config);
        if (old.sync != config.sync && impl->sync_timer) impl->sync_timer->cancel();
    });
}

std::optional<CacheEntryInfo> ComplianceService::inspect(std::string_view device_id) const {
    auto id = normalize_guid(device_id);
    if (!id) return std::nullopt;
    return impl_->cache.inspect(*id);
}

void ComplianceService::invalidate(std::string device_id, std::function<void()> done) {
    auto id = normalize_guid(device_id);
    net::co_spawn(
        impl_->strand,
        [](std::shared_ptr<Impl> impl, std::optional<std::string> id) -> net::awaitable<void> {
            if (!id) co_return;
            impl->cache.erase(*id);
            auto b = impl->configured;
            if (auto redis = impl->redis; redis && redis->connected()) {
                const auto& sc = b->config.shared_cache;
                std::vector<std::string> del{"DEL", shared_verdict_key(sc.key_prefix, *id)};
                auto r = co_await redis->command(std::move(del), Clock::now() + sc.timeout);
                if (r.failed() || r.type == RedisReply::Type::Error) impl->shared_failed(r, "invalidate");
            }
            log::info("device verdict dropped", {{"device_id", *id}});
        }(impl_, std::move(id)),
        [impl = impl_, done = std::move(done)](std::exception_ptr) {
            if (done && !impl->stopped) done();
        });
}

std::optional<bool> ComplianceService::token_ok() const {
    const TokenState s = impl_->token_state.load();
    if (s == TokenState::Unknown) return std::nullopt;
    return s == TokenState::Ok;
}

}  // namespace ig
