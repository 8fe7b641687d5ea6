#include "core/compliance.hpp"

#include "core/decision.hpp"
#include "core/device_id.hpp"
#include "core/graph_client.hpp"
#include "core/header_cap.hpp"
#include "core/http_client.hpp"
#include "core/log.hpp"
#include "core/token_source.hpp"
#include "core/verdict_cache.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <unordered_map>
#include <vector>

namespace ig {
namespace net = boost::asio;

namespace {

// Everything that talks to login and Graph for one configuration. Replaced as a whole on reload;
// lookups in flight keep the old one alive until they finish.
// The connections and the token: kept across a reload that does not touch them.
struct Link {
    Link(const IntuneConfig& c, CoreMetrics& metrics, std::atomic<int>& token_state)
        : http(HttpClientOptions{c.ca_file}), tokens(http, c, metrics, token_state) {}
    HttpClient http;
    TokenSource tokens;
};

struct Backend {
    Backend(const IntuneConfig& c, CoreMetrics& metrics, std::shared_ptr<Link> l)
        : config(c), link(std::move(l)), graph(link->http, link->tokens, config, metrics) {}
    IntuneConfig config;
    std::shared_ptr<Link> link;
    GraphClient graph;
};

bool same_connection(const IntuneConfig& a, const IntuneConfig& b) {
    return a.tenant_id == b.tenant_id && a.client_id == b.client_id && a.auth == b.auth &&
           a.client_secret.value == b.client_secret.value && a.client_certificate == b.client_certificate &&
           a.client_private_key == b.client_private_key && a.assertion_algorithm == b.assertion_algorithm &&
           a.username == b.username &&
           a.password.value == b.password.value && a.login_url == b.login_url && a.graph_url == b.graph_url &&
           a.ca_file == b.ca_file;
}

bool same_verdicts(const IntuneConfig& a, const IntuneConfig& b) {
    return a.graph_url == b.graph_url && a.tenant_id == b.tenant_id && a.device_not_found == b.device_not_found &&
           a.save_device_properties == b.save_device_properties && a.device_properties == b.device_properties &&
           a.save_installed_apps == b.save_installed_apps && a.max_apps_header_bytes == b.max_apps_header_bytes &&
           a.max_device_header_bytes == b.max_device_header_bytes && a.cache.compliant_ttl == b.cache.compliant_ttl &&
           a.cache.other_ttl == b.cache.other_ttl;
}

Verdict error_verdict(std::string reason) {
    Verdict v;
    v.outcome = Outcome::Error;
    v.reason = std::move(reason);
    return v;
}

}  // namespace

struct ComplianceService::Impl : std::enable_shared_from_this<Impl> {
    Impl(net::any_io_executor io, const IntuneConfig& config, CoreMetrics& m)
        : strand(net::make_strand(io)),
          metrics(m),
          cache(config.cache.max_entries, &m.cache_size),
          backend(std::make_shared<Backend>(config, m, std::make_shared<Link>(config, m, token_state))) {}

    net::strand<net::any_io_executor> strand;
    CoreMetrics& metrics;
    VerdictCache cache;
    std::atomic<int> token_state{-1};
    std::atomic<bool> stopped{false};
    // Touched only on the strand:
    std::shared_ptr<Backend> backend;
    std::unordered_map<std::string, std::vector<Callback>> waiting;  // single-flight per device

    std::optional<net::steady_timer> refresh_timer;  // on the strand

    void start(std::string id, Callback done, std::string request_id);
    static net::awaitable<void> keep_token_fresh(std::shared_ptr<Impl> self);
    void finish(const std::string& id, Verdict v);
};

namespace {

net::awaitable<Verdict> lookup(std::shared_ptr<Backend> b, std::string id, std::string request_id) {
    const auto start = Clock::now();
    const auto deadline = start + b->config.timeout;
    auto reply = co_await b->graph.get_device(id, deadline, request_id);
    Verdict v = decide(reply, b->config);
    if (b->config.save_installed_apps && reply.kind == GraphReply::Kind::Answered && reply.status == 200 &&
        v.outcome != Outcome::Error) {
        auto apps = co_await b->graph.get_apps(id, deadline, request_id);
        if (apps.apps) {
            auto capped = cap_json_header(*apps.apps, apps_header, b->config.max_apps_header_bytes);
            v.apps_json = std::move(capped.json);
            v.apps_truncated = capped.total;
        } else {
            // The outcome stands; the apps header is left out (SPEC §5).
            b->graph.count_apps_failure();
            log::warn("installed apps not read", {{"device_id", id}, {"reason", apps.error}});
        }
    }
    v.graph_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    co_return v;
}

}  // namespace

void ComplianceService::Impl::start(std::string id, Callback done, std::string request_id) {
    if (auto v = cache.get(id)) {
        metrics.cache_hits.inc();
        if (!stopped) done(std::move(*v));
        return;
    }
    metrics.cache_misses.inc();
    auto [it, first] = waiting.try_emplace(id);
    it->second.push_back(std::move(done));
    if (!first) return;
    net::co_spawn(strand, lookup(backend, id, std::move(request_id)),
                  [self = shared_from_this(), id](std::exception_ptr e, Verdict v) {
                      if (e) v = error_verdict("internal error in the compliance lookup");
                      self->finish(id, std::move(v));
                  });
}

void ComplianceService::Impl::finish(const std::string& id, Verdict v) {
    const auto& cfg = backend->config;
    if (v.outcome != Outcome::Error) {
        const auto ttl = v.outcome == Outcome::Compliant ? cfg.cache.compliant_ttl : cfg.cache.other_ttl;
        cache.put(id, v, std::chrono::duration_cast<std::chrono::milliseconds>(ttl));
    }
    log::event(v.outcome == Outcome::Error ? "warn" : "info", "compliance lookup",
               {{"device_id", id},
                {"outcome", to_string(v.outcome)},
                {"compliance_state", v.compliance_state},
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
        auto b = self->backend;  // a reload may replace it between rounds
        auto result = co_await b->link->tokens.get(Clock::now() + b->config.timeout);
        if (self->stopped) break;
        self->refresh_timer->expires_after(result.ok ? period : after_failure);
        boost::system::error_code ec;
        co_await self->refresh_timer->async_wait(net::redirect_error(net::use_awaitable, ec));
    }
}

void ComplianceService::start_token_refresh() {
    net::co_spawn(impl_->strand, Impl::keep_token_fresh(impl_), net::detached);
}

ComplianceService::ComplianceService(net::any_io_executor io, const IntuneConfig& config, CoreMetrics& metrics)
    : io_(io), impl_(std::make_shared<Impl>(io, config, metrics)) {}

ComplianceService::~ComplianceService() {
    impl_->stopped = true;
    // Idle pooled connections go with the backend once the last lookup lets go of it.
    net::post(impl_->strand, [impl = impl_] {
        if (impl->refresh_timer) impl->refresh_timer->cancel();
        impl->backend->link->http.close_idle();
    });
}

std::optional<Verdict> ComplianceService::cached(std::string_view device_id) {
    auto v = impl_->cache.get(device_id);
    if (v) impl_->metrics.cache_hits.inc();
    return v;
}

std::optional<CachedVerdict> ComplianceService::inspect(std::string_view device_id) const {
    return impl_->cache.inspect(device_id);
}

void ComplianceService::invalidate(std::string_view device_id) { impl_->cache.invalidate(device_id); }

void ComplianceService::check(std::string device_id, Callback done, std::string request_id) {
    auto id = normalize_guid(device_id);
    net::post(impl_->strand, [impl = impl_, id = std::move(id), done = std::move(done),
                              rid = std::move(request_id)]() mutable {
        if (!id) {
            if (!impl->stopped) done(error_verdict("invalid device id"));
            return;
        }
        impl->start(std::move(*id), std::move(done), std::move(rid));
    });
}

void ComplianceService::reconfigure(const IntuneConfig& config) {
    net::post(impl_->strand, [impl = impl_, config] {
        const IntuneConfig old = impl->backend->config;
        const bool keep_cache = same_verdicts(old, config);
        const bool keep_link = same_connection(old, config);
        auto link = keep_link ? impl->backend->link : std::make_shared<Link>(config, impl->metrics, impl->token_state);
        impl->backend = std::make_shared<Backend>(config, impl->metrics, std::move(link));
        if (!keep_link) impl->token_state = -1;
        impl->cache.set_max_entries(config.cache.max_entries);
        if (!keep_cache) impl->cache.clear();
    });
}

std::optional<bool> ComplianceService::token_ok() const {
    const int s = impl_->token_state.load();
    if (s < 0) return std::nullopt;
    return s == 1;
}

}  // namespace ig
