#include "proxy/admin/metrics_render.hpp"

#include <array>
#include <charconv>
#include <string_view>

namespace ig {
namespace {

// Shortest round-trip form: "0.005", "1", "2.5", "30".
std::string number(double v) {
    std::array<char, 64> buf{};
    auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), v);
    return ec == std::errc{} ? std::string(buf.data(), end) : std::string("NaN");
}

class Writer {
public:
    void family(std::string_view name, std::string_view type, std::string_view help) {
        out_ += "# HELP ";
        out_ += name;
        out_ += ' ';
        out_ += help;
        out_ += "\n# TYPE ";
        out_ += name;
        out_ += ' ';
        out_ += type;
        out_ += '\n';
    }
    // labels is the already-formatted "{a=\"b\"}" part or empty; values here never need escaping
    // (they come from fixed name tables and numbers, not from requests).
    void sample(std::string_view name, std::string_view labels, std::string_view value) {
        out_ += name;
        out_ += labels;
        out_ += ' ';
        out_ += value;
        out_ += '\n';
    }
    void sample(std::string_view name, std::string_view labels, std::uint64_t v) {
        sample(name, labels, std::to_string(v));
    }
    void sample(std::string_view name, std::string_view labels, std::int64_t v) {
        sample(name, labels, std::to_string(v));
    }
    void scalar(std::string_view name, std::string_view type, std::string_view help, std::uint64_t v) {
        family(name, type, help);
        sample(name, "", v);
    }
    std::string take() { return std::move(out_); }

private:
    std::string out_;
};

void render_histogram(Writer& w, std::string_view name, std::string_view help, const Histogram& h) {
    w.family(name, "histogram", help);
    // One snapshot of the buckets, so the cumulative counts and _count agree with each other.
    std::array<std::uint64_t, Histogram::bounds.size() + 1> snap{};
    for (std::size_t i = 0; i < snap.size(); ++i) snap[i] = h.bucket(i);
    const std::string bucket = std::string(name) + "_bucket";
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < Histogram::bounds.size(); ++i) {
        cumulative += snap[i];
        w.sample(bucket, "{le=\"" + number(Histogram::bounds[i]) + "\"}", cumulative);
    }
    cumulative += snap.back();
    w.sample(bucket, "{le=\"+Inf\"}", cumulative);
    w.sample(std::string(name) + "_sum", "", number(h.sum()));
    w.sample(std::string(name) + "_count", "", cumulative);
}

// Policy names are letters, digits, '-', '_' and '.' (the config checks them): no escaping needed.
void render_policies(Writer& w, const ProxyMetrics& proxy) {
    const auto [results, failures] = proxy.policies.snapshot();
    w.family("intune_gate_policy_results_total", "counter",
             "Requests an access policy applied to, by policy and result (allow, deny, report).");
    for (const auto& [key, n] : results)
        w.sample("intune_gate_policy_results_total", "{policy=\"" + key.first + "\",result=\"" + key.second + "\"}", n);
    w.family("intune_gate_policy_failures_total", "counter",
             "Requests that failed an access policy (denied or reported), by policy and first failed requirement.");
    for (const auto& [key, n] : failures)
        w.sample("intune_gate_policy_failures_total",
                 "{policy=\"" + key.first + "\",requirement=\"" + key.second + "\"}", n);
}

void render_requests(Writer& w, const ProxyMetrics& proxy) {
    render_policies(w, proxy);
    w.family("intune_gate_requests_total", "counter", "Requests decided, by outcome and the action taken.");
    for (std::size_t o = 0; o < outcome_count; ++o)
        for (std::size_t a = 0; a < action_count; ++a)
            w.sample(
                "intune_gate_requests_total",
                "{outcome=\"" + std::string(outcome_names[o]) + "\",action=\"" + std::string(action_names[a]) + "\"}",
                proxy.requests[o][a].get());
    w.scalar("intune_gate_requests_rejected_total", "counter", "Requests refused before any decision (400, 413, 431).",
             proxy.rejected_requests.get());

    w.family("intune_gate_authz_checks_total", "counter",
             "Checks answered by the authorization endpoint, by result (no_certificate: none or an unreadable "
             "one; the outcome NoId's action applied).");
    for (std::size_t r = 0; r < authz_result_count; ++r)
        w.sample("intune_gate_authz_checks_total", "{result=\"" + std::string(authz_result_names[r]) + "\"}",
                 proxy.authz_checks[r].get());
    w.family("intune_gate_authz_open_connections", "gauge", "Connections open on the authorization endpoint.");
    w.sample("intune_gate_authz_open_connections", "", proxy.authz_open_connections.get());
    w.scalar("intune_gate_authz_connections_refused_total", "counter",
             "Endpoint connections closed at accept: max_connections reached and none idle to close "
             "(an untrusted peer counts as a check with result untrusted_peer).",
             proxy.authz_refused_max_connections.get());
    w.scalar("intune_gate_authz_idle_evicted_total", "counter",
             "Idle endpoint connections closed to make room at max_connections.", proxy.authz_idle_evicted.get());
    w.family("intune_gate_rechecks_total", "counter",
             "\"Check again\" from a deny page, by result (rate_limited: within intune.recheck_interval_s, Graph "
             "not asked).");
    for (std::size_t r = 0; r < recheck_result_count; ++r)
        w.sample("intune_gate_rechecks_total", "{result=\"" + std::string(recheck_result_names[r]) + "\"}",
                 proxy.rechecks[r].get());
}

void render_graph(Writer& w, const CoreMetrics& core, const MetricsExtra& extra) {
    w.family("intune_gate_graph_calls_total", "counter",
             "HTTP calls to Microsoft Graph by response status; status=\"none\" when no HTTP answer came.");
    for (std::size_t s = 0; s < core.graph_calls_by_status.size(); ++s) {
        const auto n = core.graph_calls_by_status[s].get();
        if (n == 0) continue;
        w.sample("intune_gate_graph_calls_total",
                 "{status=\"" + (s == 0 ? std::string("none") : std::to_string(s)) + "\"}", n);
    }
    render_histogram(w, "intune_gate_graph_latency_seconds", "Latency of HTTP calls to Microsoft Graph.",
                     core.graph_latency);

    w.scalar("intune_gate_token_fetches_total", "counter", "Token requests sent to the identity platform.",
             core.token_fetches.get());
    w.scalar("intune_gate_token_failures_total", "counter", "Token requests that gave no token.",
             core.token_failures.get());
    w.family("intune_gate_token_ok", "gauge",
             "1 when the last token request succeeded, 0 when it failed, -1 before the first.");
    w.sample("intune_gate_token_ok", "", std::int64_t{extra.token_ok ? (*extra.token_ok ? 1 : 0) : -1});
}

void render_cache(Writer& w, const CoreMetrics& core) {
    w.scalar("intune_gate_cache_hits_total", "counter", "Device lookups answered from the cache.",
             core.cache_hits.get());
    w.scalar("intune_gate_cache_misses_total", "counter", "Device lookups that needed Graph.", core.cache_misses.get());
    w.family("intune_gate_cache_entries", "gauge", "Devices currently in the cache.");
    w.sample("intune_gate_cache_entries", "", core.cache_size.get());
    w.scalar("intune_gate_installed_apps_failures_total", "counter", "Installed-apps reads that failed.",
             core.apps_failures.get());

    w.scalar("intune_gate_graph_requests_held_total", "counter",
             "Graph requests not sent because Graph had asked to back off (429, 5xx).", core.graph_held.get());
    w.scalar("intune_gate_stale_verdicts_total", "counter",
             "Graph failed and the device's last known answer was used (stale_if_error_s).", core.stale_served.get());
}

void render_shared_cache(Writer& w, const CoreMetrics& core) {
    const auto& sh = core.shared;
    w.family("intune_gate_shared_cache_up", "gauge", "1 while connected to the shared cache (Redis).");
    w.sample("intune_gate_shared_cache_up", "", sh.redis.up.get());
    w.family("intune_gate_shared_cache_lookups_total", "counter",
             "Local misses looked up in the shared cache, by result.");
    w.sample("intune_gate_shared_cache_lookups_total", "{result=\"hit\"}", sh.hits.get());
    w.sample("intune_gate_shared_cache_lookups_total", "{result=\"miss\"}", sh.misses.get());
    w.sample("intune_gate_shared_cache_lookups_total", "{result=\"ignored\"}", sh.ignored.get());
    w.scalar("intune_gate_shared_cache_fallbacks_total", "counter",
             "Shared-cache operations that got no usable answer in time (the local cache and Graph were used).",
             sh.fallbacks.get());
    w.scalar("intune_gate_shared_cache_lock_waits_total", "counter",
             "Lookups that waited for another instance's Graph call.", sh.lock_waits.get());
    w.scalar("intune_gate_shared_cache_writes_total", "counter", "Verdicts written to the shared cache.",
             sh.writes.get());
    w.scalar("intune_gate_shared_cache_commands_total", "counter", "Redis commands answered.", sh.redis.commands.get());
    w.scalar("intune_gate_shared_cache_command_failures_total", "counter",
             "Redis commands with no usable reply (down, timed out, error reply, protocol garbage).",
             sh.redis.failures.get());
    w.scalar("intune_gate_shared_cache_connects_total", "counter", "Connections made to Redis.",
             sh.redis.connects.get());
    w.scalar("intune_gate_shared_cache_connect_failures_total", "counter", "Failed connection attempts to Redis.",
             sh.redis.connect_failures.get());
}

void render_sync(Writer& w, const CoreMetrics& core) {
    const auto& sy = core.sync;
    w.family("intune_gate_sync_runs_total", "counter",
             "Bulk device syncs by result (skipped: another instance held the lease).");
    w.sample("intune_gate_sync_runs_total", "{result=\"ok\"}", sy.runs_ok.get());
    w.sample("intune_gate_sync_runs_total", "{result=\"failed\"}", sy.runs_failed.get());
    w.sample("intune_gate_sync_runs_total", "{result=\"skipped\"}", sy.runs_skipped.get());
    w.scalar("intune_gate_sync_pages_total", "counter", "Device-list pages read by the sync.", sy.pages.get());
    w.scalar("intune_gate_sync_devices_total", "counter", "Verdicts refreshed by the sync.", sy.devices.get());
    w.family("intune_gate_sync_last_duration_seconds", "gauge", "Duration of the last sync run here.");
    w.sample("intune_gate_sync_last_duration_seconds", "",
             number(static_cast<double>(sy.last_duration_ms.get()) / 1000.0));
    w.family("intune_gate_sync_last_pages", "gauge", "Pages read by the last sync run here.");
    w.sample("intune_gate_sync_last_pages", "", sy.last_pages.get());
    w.family("intune_gate_sync_last_devices", "gauge", "Devices refreshed by the last sync run here.");
    w.sample("intune_gate_sync_last_devices", "", sy.last_devices.get());
    w.family("intune_gate_sync_last_end_time_seconds", "gauge", "Unix time the last sync run here ended.");
    w.sample("intune_gate_sync_last_end_time_seconds", "", sy.last_end_unix.get());
    w.family("intune_gate_sync_changes_total", "counter",
             "Changes syncs by result (discarded: the answer held devices the filter excludes; skipped: another "
             "instance held the lease).");
    w.sample("intune_gate_sync_changes_total", "{result=\"ok\"}", sy.changes_ok.get());
    w.sample("intune_gate_sync_changes_total", "{result=\"discarded\"}", sy.changes_discarded.get());
    w.sample("intune_gate_sync_changes_total", "{result=\"failed\"}", sy.changes_failed.get());
    w.sample("intune_gate_sync_changes_total", "{result=\"skipped\"}", sy.changes_skipped.get());
    w.scalar("intune_gate_sync_changes_devices_total", "counter", "Verdicts refreshed by changes syncs.",
             sy.changes_devices.get());
}

void render_connections(Writer& w, const ProxyMetrics& proxy) {
    w.family("intune_gate_open_connections", "gauge", "Client connections currently open.");
    w.sample("intune_gate_open_connections", "", proxy.open_connections.get());
    w.scalar("intune_gate_tls_handshakes_total", "counter", "Completed client TLS handshakes.", proxy.handshakes.get());
    w.family("intune_gate_tls_handshake_failures_total", "counter", "Failed client TLS handshakes by reason.");
    for (std::size_t r = 0; r < handshake_failure_count; ++r)
        w.sample("intune_gate_tls_handshake_failures_total",
                 "{reason=\"" + std::string(handshake_failure_names[r]) + "\"}", proxy.handshake_failures[r].get());
    w.scalar("intune_gate_upstream_errors_total", "counter",
             "Connect, read and write failures and timeouts towards the upstream.", proxy.upstream_errors.get());
    w.family("intune_gate_connections_refused_total", "counter",
             "Client connections closed right after accept, by the limit that was reached.");
    w.sample("intune_gate_connections_refused_total", "{limit=\"max_connections\"}",
             proxy.refused_max_connections.get());
    w.sample("intune_gate_connections_refused_total", "{limit=\"max_connections_per_address\"}",
             proxy.refused_per_address.get());
    w.scalar("intune_gate_handshakes_evicted_total", "counter",
             "Connections closed in their TLS handshake to stay within max_pending_handshakes or max_connections.",
             proxy.handshakes_evicted.get());
    w.scalar("intune_gate_idle_evicted_total", "counter",
             "Connections closed after their handshake but before a complete request, to make room at "
             "max_connections.",
             proxy.idle_evicted.get());
    w.scalar("intune_gate_accept_errors_total", "counter",
             "Failed accept() calls (e.g. out of file descriptors); each is followed by a 100 ms pause.",
             proxy.accept_errors.get());
}

void render_process(Writer& w, const MetricsExtra& extra) {
    w.scalar("intune_gate_log_lines_dropped_total", "counter", "Log lines dropped because the log queue was full.",
             extra.log_lines_dropped);
    w.scalar("intune_gate_config_reloads_total", "counter", "Configuration reloads applied (SIGHUP).", extra.reloads);
    w.scalar("intune_gate_config_reload_failures_total", "counter",
             "Configuration reloads refused; the previous configuration kept serving.", extra.reload_failures);
    if (extra.start_time_seconds > 0) {
        w.family("intune_gate_start_time_seconds", "gauge", "Unix time the process started.");
        w.sample("intune_gate_start_time_seconds", "", number(extra.start_time_seconds));
    }
#ifdef IG_VERSION
    w.family("intune_gate_build_info", "gauge", "Always 1; the version is in the label.");
    w.sample("intune_gate_build_info", "{version=\"" IG_VERSION "\"}", std::uint64_t{1});
#endif
}

}  // namespace

std::string render_metrics(const CoreMetrics& core, const ProxyMetrics& proxy, const MetricsExtra& extra) {
    Writer w;
    render_requests(w, proxy);
    render_graph(w, core, extra);
    render_cache(w, core);
    render_shared_cache(w, core);
    render_sync(w, core);
    render_connections(w, proxy);
    render_process(w, extra);
    return w.take();
}

}  // namespace ig
