// The background syncs of the compliance core (README: sync): the full sync every interval_s and,
// between full syncs, the changes sync every changes_interval_s; each round one instance across a
// site (a Redis lease of its own per kind of round).
#include "core/graph/changes_sync.hpp"
#include "core/graph/device_sync.hpp"
#include "core/shared/shared_value.hpp"
#include "core/text/log.hpp"
#include "core/verdict/compliance_impl.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <utility>
#include <vector>

namespace ig {

net::awaitable<bool> ComplianceService::Impl::take_lease(std::shared_ptr<Impl> self, std::string key,
                                                         std::chrono::milliseconds ttl) {
    auto redis = self->redis;
    if (!redis || !redis->connected()) co_return true;
    const auto& sc = self->configured->config.shared_cache;
    std::vector<std::string> lease{"SET", std::move(key), self->instance, "NX", "PX", std::to_string(ttl.count())};
    auto r = co_await redis->command(std::move(lease), Clock::now() + sc.timeout);
    if (r.type == RedisReply::Type::Nil) co_return false;
    if (!r.ok_status()) self->shared_failed(r, "sync lease");  // then sync here anyway
    co_return true;
}

void ComplianceService::Impl::apply_synced(const std::shared_ptr<ConfiguredGraph>& b, const std::string& id,
                                           Verdict v) {
    const auto& cfg = b->config;
    if (v.outcome == Outcome::Error) {  // an Entra ID several devices claim (device_sync.hpp): drop it
        cache.erase(id);
        if (redis && redis->connected()) redis->send({"DEL", shared_verdict_key(cfg.shared_cache.key_prefix, id)});
        return;
    }
    // Installed apps come per device only: keep what a request already read, or leave them to
    // the device's next request.
    if (cfg.save_installed_apps) {
        if (auto old = cache.inspect(id); old && !old->verdict.apps_pending) {
            v.apps_json = old->verdict.apps_json;
            v.apps_truncated = old->verdict.apps_truncated;
        } else {
            v.apps_pending = true;
        }
    }
    // Good until the next full sync (ttl_for: source Sync), whatever the outcome.
    cache.put(id, v, std::min(ttl_for(v, cfg), synced_local_ttl(cfg)));
    write_shared(b, id, v);
}

// One round of the bulk sync. With a shared cache, only the instance that gets the lease (for
// one interval) does it; the others find the verdicts in the shared cache.
net::awaitable<bool> ComplianceService::Impl::sync_once(std::shared_ptr<Impl> self) {
    auto b = self->configured;
    const auto& cfg = b->config;
    const auto interval = std::chrono::duration_cast<std::chrono::milliseconds>(cfg.sync.interval);
    if (!co_await take_lease(self, shared_sync_lease_key(cfg.shared_cache.key_prefix), interval)) {
        self->metrics.sync.runs_skipped.inc();
        log::info("device sync skipped: another instance holds the lease");
        co_return true;
    }
    const auto start = Clock::now();
    log::info("device sync started", {{"page_size", cfg.sync.page_size}});
    auto each = [&](const std::string& id, Verdict v) { self->apply_synced(b, id, std::move(v)); };
    auto page_done = [&](const SyncResult& p) {
        self->metrics.sync.pages.inc();
        if (p.pages % 10 == 0) log::info("device sync progress", {{"pages", p.pages}, {"devices", p.devices}});
    };
    auto result = co_await sync_all_devices(b->graph, cfg, each, page_done);
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
    auto& m = self->metrics.sync;
    m.devices.inc(result.devices);
    m.last_duration_ms.set(ms);
    m.last_pages.set(result.pages);
    m.last_devices.set(static_cast<std::int64_t>(result.devices));
    m.last_end_unix.set(unix_ms() / 1000);
    nlohmann::json fields{
        {"duration_ms", ms}, {"pages", result.pages}, {"devices", result.devices}, {"skipped", result.skipped}};
    if (result.complete) {
        m.runs_ok.inc();
        log::info("device sync done", std::move(fields));
    } else {
        m.runs_failed.inc();
        fields["reason"] = result.error;
        log::warn("device sync stopped early; the verdicts read so far are kept", std::move(fields));
    }
    co_return result.complete;
}

// One round of the changes sync: the devices that checked in since T, applied only when the
// whole answer passed the guard (changes_sync.hpp); a discarded round leaves every verdict as it was.
net::awaitable<bool> ComplianceService::Impl::changes_once(std::shared_ptr<Impl> self) {
    auto b = self->configured;
    const auto& cfg = b->config;
    auto& m = self->metrics.sync;
    const auto every = std::chrono::duration_cast<std::chrono::milliseconds>(cfg.sync.changes_interval);
    if (!co_await take_lease(self, shared_changes_lease_key(cfg.shared_cache.key_prefix), every)) {
        m.changes_skipped.inc();
        co_return true;
    }
    const auto since = changes_since_ms(self->changes_base_ms, unix_ms(), cfg.sync.changes_interval);
    std::vector<std::pair<std::string, Verdict>> got;
    auto each = [&got](const std::string& id, Verdict v) { got.emplace_back(id, std::move(v)); };
    auto result = co_await sync_changed_devices(b->graph, cfg, since, each);
    m.pages.inc(result.pages);
    nlohmann::json fields{{"since", graph_time(since)}, {"pages", result.pages}, {"devices", got.size()}};
    if (!result.complete) {
        (result.refused ? m.changes_discarded : m.changes_failed).inc();
        fields["reason"] = result.error;
        log::warn(result.refused ? "changes sync discarded: the answer is not what the filter asked for"
                                 : "changes sync failed; nothing of it applied",
                  std::move(fields));
        co_return false;
    }
    for (auto& [id, v] : got) self->apply_synced(b, id, std::move(v));
    m.changes_ok.inc();
    m.changes_devices.inc(result.devices);
    log::info("changes sync done", std::move(fields));
    co_return true;
}

net::awaitable<void> ComplianceService::Impl::keep_synced(std::shared_ptr<Impl> self) {
    self->sync_timer.emplace(self->strand);
    // Shortly after start, so the token is there (and the shared cache, up to 2 s, so that its
    // lease decides which instance syncs); then every interval.
    for (int i = 0; i < 10 && !self->stopped; ++i) {
        self->sync_timer->expires_after(std::chrono::milliseconds(200));
        co_await self->sync_timer->async_wait(net::as_tuple(net::use_awaitable));
        if (!self->redis || self->redis->connected()) break;
    }
    while (!self->stopped) {
        const auto sync = self->configured->config.sync;
        const auto began = Clock::now();
        const auto began_ms = unix_ms();
        if (sync.interval.count() > 0 && co_await sync_once(self)) self->changes_base_ms = began_ms;
        if (self->stopped) break;
        // Interval from start to start (a sync longer than that is followed by the next at once);
        // a reload cancels the wait, so a new interval applies at once.
        const auto next_full = began + (sync.interval.count() > 0 ? sync.interval : std::chrono::hours(24));
        bool cancelled = false;
        // Between full syncs, a changes round every changes_interval (start to start).
        for (auto next = began + sync.changes_interval;
             sync.interval.count() > 0 && sync.changes_interval.count() > 0 && next < next_full && !self->stopped;
             next += sync.changes_interval) {
            self->sync_timer->expires_at(next);
            auto [ec] = co_await self->sync_timer->async_wait(net::as_tuple(net::use_awaitable));
            if (ec || self->stopped) {
                cancelled = true;
                break;
            }
            const auto round_ms = unix_ms();
            if (co_await changes_once(self)) self->changes_base_ms = round_ms;
        }
        if (cancelled || self->stopped) continue;
        self->sync_timer->expires_at(next_full);
        co_await self->sync_timer->async_wait(net::as_tuple(net::use_awaitable));
    }
}

}  // namespace ig
