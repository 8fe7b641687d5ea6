#include "proxy/gateway.hpp"

#include "core/text/log.hpp"
#include "core/text/text.hpp"
#include "core/verdict/compliance.hpp"
#include "proxy/admin/admin.hpp"
#include "proxy/admin/metrics_render.hpp"
#include "proxy/explain_policy.hpp"
#include "proxy/front/server.hpp"
#include "proxy/plugin/authz_server.hpp"
#include "proxy/runtime.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <atomic>
#include <chrono>
#include <iostream>
#include <mutex>
#include <thread>

namespace ig {
namespace net = boost::asio;

namespace {

constexpr auto drain_time = std::chrono::seconds(10);

// What the help desk sees of a verdict; age and TTL from the cache entry when there is one.
DeviceView device_view(const std::string& id, const Verdict& v, const std::optional<CacheEntryInfo>& cached) {
    DeviceView view;
    view.device_id = id;
    view.outcome = std::string(to_string(v.outcome));
    view.compliance_state = printable_ascii(v.compliance_state, 64);
    view.source = std::string(to_string(v.source));
    view.reason = one_line(v.reason, 300);
    if (cached) {
        view.age_s = cached->age_s;
        view.ttl_s = cached->ttl_s;
    }
    if (v.facts.read) view.facts_json = facts_for_people(v.facts).dump();
    return view;
}

struct Gateway {
    std::filesystem::path config_file;
    CoreMetrics core_metrics;
    ProxyMetrics proxy_metrics;
    net::io_context core_io{1};  // the compliance core's own thread
    std::unique_ptr<ComplianceService> compliance;
    std::unique_ptr<Server> server;  // the mTLS front end; none when listen is null
    std::unique_ptr<AuthzServer> authz;  // the authorization endpoint; none without authz
    std::unique_ptr<AdminServer> admin;
    std::atomic<std::uint64_t> reloads{0};  // atomic: /metrics reads them on the admin thread
    std::atomic<std::uint64_t> reload_failures{0};
    double start_time = 0;
    // The admin token, read on the admin thread, replaced by a reload (no front end may exist to
    // hold the runtime: plugin-only deployments).
    mutable std::mutex admin_token_mutex;
    std::string admin_token;
    std::shared_ptr<const Config> policy_config;  // the help desk's ?url= (under admin_token_mutex)

    void set_admin_token(const Config& c) {
        std::lock_guard lock(admin_token_mutex);
        admin_token = c.admin.token ? c.admin.token->value : std::string();
        policy_config = std::make_shared<const Config>(c);
    }
    std::shared_ptr<const Config> current_policy_config() const {
        std::lock_guard lock(admin_token_mutex);
        return policy_config;
    }
    std::string current_admin_token() const {
        std::lock_guard lock(admin_token_mutex);
        return admin_token;
    }

    // SIGHUP: a new config and new certificates for new connections; a bad one is refused and the
    // old one keeps serving. The listen and admin addresses are not re-bound.
    void on_reload() {
        auto result = load_config(config_file);
        if (!result.config) {
            ++reload_failures;
            for (const auto& e : result.errors)  // one JSON line per problem, as at startup
                log::error("reload refused, keeping the running config",
                           {{"error", e}, {"file", config_file.string()}});
            return;
        }
        // The listeners were bound at start: a reload cannot open or close one.
        if (result.config->listen.enabled != static_cast<bool>(server) ||
            result.config->authz.enabled != static_cast<bool>(authz)) {
            ++reload_failures;
            log::error("reload refused, keeping the running config",
                       {{"error", "turning \"listen\" or \"authz\" on or off needs a restart"},
                        {"file", config_file.string()}});
            return;
        }
        try {
            auto runtime = make_runtime(*result.config);
            compliance->reconfigure(runtime->config.intune);
            if (server) server->swap_runtime(runtime);
            if (authz) authz->swap_runtime(runtime);
            set_admin_token(runtime->config);
            ++reloads;
            log::info("config reloaded", {{"file", config_file.string()}});
        } catch (const std::exception& e) {
            ++reload_failures;
            log::error("reload refused, keeping the running config",
                       {{"error", e.what()}, {"file", config_file.string()}});
        }
    }

    void start_admin(const Config& cfg) {
        AdminHandlers handlers;
        handlers.ready = [this] { return (!server || server->listening()) && (!authz || authz->listening()); };
        handlers.token_ok = [this] { return compliance->token_ok(); };
        handlers.metrics = [this] { return metrics_text(); };
        set_admin_token(cfg);
        handlers.token = [this] { return current_admin_token(); };
        handlers.device = [this](const std::string& id) -> std::optional<DeviceView> {
            auto cached = compliance->inspect(id);
            if (!cached) return std::nullopt;
            return device_view(id, cached->verdict, cached);
        };
        handlers.refresh = [this](const std::string& id, std::function<void(DeviceView)> done) {
            log::info("device refresh requested on the admin listener", {{"device_id", id}});
            if (!compliance->inspect(id)) {
                // Nothing cached: asked without caching the answer, so refreshes of unknown devices
                // cannot push real verdicts out of the cache (issue 26 #8).
                compliance->look_up_uncached(
                    id, [id, done = std::move(done)](Verdict v) { done(device_view(id, v, std::nullopt)); });
                return;
            }
            // Dropped here and in the shared cache first, so the lookup below asks Graph.
            compliance->invalidate(id, [this, id, done = std::move(done)]() mutable {
                compliance->lookup(id, [this, id, done = std::move(done)](Verdict v) {
                    done(device_view(id, v, compliance->inspect(id)));
                });
            });
        };
        handlers.policy = [this](const std::string& id, std::string_view url) {
            auto cached = compliance->inspect(id);
            if (!cached) return std::string("null");
            return policy_for_url(*current_policy_config(), url, cached->verdict).dump();
        };
        admin = std::make_unique<AdminServer>(cfg.admin.address, cfg.admin.port, std::move(handlers));
    }

    void log_listening(const Config& cfg) const {
        if (authz) log::info("authz listening", {{"address", cfg.authz.address}, {"port", authz->port()}});
        if (server)
            log::info("listening", {{"address", cfg.listen.address},
                                    {"port", server->port()},
                                    {"upstream", cfg.upstream.url},
                                    {"workers", cfg.workers}});
        else
            log::info("listening", {{"authz_address", cfg.authz.address},
                                    {"authz_port", authz->port()},
                                    {"front_end", false},
                                    {"workers", cfg.workers}});
    }

    // SIGINT/SIGTERM: in-flight requests finish, idle connections close, for at most drain_time.
    void drain() {
        const auto deadline = std::chrono::steady_clock::now() + drain_time;
        bool clean = true;
        if (authz) clean = authz->drain(deadline);
        if (server) clean = server->drain(deadline) && clean;
        if (!clean)
            log::warn("drain deadline passed; closing the remaining connections",
                      {{"open_connections", server ? server->open_connections() : 0}});
    }

    std::string metrics_text() {
        MetricsExtra extra;
        extra.log_lines_dropped = log::dropped();
        extra.reloads = reloads;
        extra.reload_failures = reload_failures;
        extra.token_ok = compliance->token_ok();
        extra.start_time_seconds = start_time;
        return render_metrics(core_metrics, proxy_metrics, extra);
    }
};

}  // namespace

int run_gateway(const std::filesystem::path& config_file, Config config) {
    Gateway g;
    g.config_file = config_file;
    g.start_time = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
    for (const auto& w : config.warnings) log::warn("config warning", {{"warning", w}});

    std::shared_ptr<const Runtime> runtime;
    try {
        runtime = make_runtime(std::move(config));
    } catch (const std::exception& e) {
        std::cerr << "config error: " << e.what() << '\n';
        return 2;
    }
    auto core_work = net::make_work_guard(g.core_io);
    std::thread core_thread([&] { g.core_io.run(); });
    g.compliance =
        std::make_unique<ComplianceService>(g.core_io.get_executor(), runtime->config.intune, g.core_metrics);
    g.compliance->start_token_refresh();
    if (runtime->config.listen.enabled) g.server = std::make_unique<Server>(runtime, *g.compliance, g.proxy_metrics);
    if (runtime->config.authz.enabled) g.authz = std::make_unique<AuthzServer>(runtime, *g.compliance, g.proxy_metrics);

    // Signals are handled on the main thread's own io_context.
    net::io_context main_io{1};
    net::signal_set signals(main_io, SIGINT, SIGTERM, SIGHUP);
    int status = 0;
    try {
        if (g.server) g.server->start();
        if (g.authz) g.authz->start();
        const auto& cfg = runtime->config;
        if (cfg.admin.enabled) g.start_admin(cfg);
        g.log_listening(cfg);
        std::function<void(const boost::system::error_code&, int)> on_signal = [&](const boost::system::error_code& ec,
                                                                                   int sig) {
            if (ec) return;
            if (sig == SIGHUP) {
                g.on_reload();
                signals.async_wait(on_signal);
                return;
            }
            log::info("stopping: draining connections", {{"signal", sig}});
            g.drain();
        };
        signals.async_wait(on_signal);
        main_io.run();
    } catch (const std::exception& e) {
        log::error("gateway failed", {{"error", e.what()}});
        std::cerr << "error: " << e.what() << '\n';
        status = 1;
    }
    if (g.admin) g.admin->stop();
    if (g.authz) g.authz->stop();
    g.authz.reset();
    if (g.server) g.server->stop();
    g.server.reset();
    core_work.reset();
    net::post(g.core_io, [&] { g.compliance.reset(); });
    core_thread.join();
    g.compliance.reset();
    log::flush();
    return status;
}

}  // namespace ig
