#include "core/verdict/graph_lookup.hpp"

#include "core/shared/shared_value.hpp"
#include "core/text/header_cap.hpp"
#include "core/text/log.hpp"
#include "core/verdict/decision.hpp"
#include "core/verdict/device_lookup.hpp"

#include <utility>

namespace ig {
namespace net = boost::asio;

GraphConnection::GraphConnection(const IntuneConfig& c, CoreMetrics& metrics, std::atomic<TokenState>& token_state)
    : http(HttpClientOptions{.ca_file = c.ca_file, .max_per_origin = c.max_graph_connections}),
      tokens(http, c, metrics, token_state) {}

ConfiguredGraph::ConfiguredGraph(const IntuneConfig& c, CoreMetrics& metrics, std::shared_ptr<GraphConnection> conn)
    : config(c),
      connection(std::move(conn)),
      graph(connection->http, connection->tokens, config, metrics, &connection->hold) {}

net::awaitable<void> read_installed_apps(const std::shared_ptr<ConfiguredGraph>& b, const std::string& id, Verdict& v,
                                         Clock::time_point deadline, const std::string& request_id) {
    v.apps_pending = false;
    auto apps = co_await b->graph.get_apps(id, deadline, request_id);
    if (apps.apps) {
        auto capped = cap_json_header(*apps.apps, apps_header, b->config.max_apps_header_bytes);
        v.apps_json = std::move(capped.json);
        v.apps_truncated = capped.total;
    } else {
        // The outcome stands; the apps header is left out (docs/configuration.md: `outcomes`).
        b->graph.count_apps_failure();
        log::warn("installed apps not read", {{"device_id", id}, {"reason", apps.error}});
    }
}

net::awaitable<Verdict> ask_graph(std::shared_ptr<ConfiguredGraph> b, std::string id, Clock::time_point deadline,
                                  std::string request_id) {
    const auto start = Clock::now();
    auto read = co_await read_device(b->graph, b->config.lookup, id, deadline, request_id);
    const auto& reply = read.reply;
    Verdict v = read.error ? error_verdict(*read.error) : verdict_for_reply(reply, b->config, read.intune_id);
    if (read.by_entra_id && v.outcome != Outcome::Error) v.managed_device_id = read.intune_id;
    if (b->config.save_installed_apps && reply.kind == GraphReply::Kind::Answered && reply.status == 200 &&
        v.outcome != Outcome::Error)
        co_await read_installed_apps(b, read.intune_id, v, deadline, request_id);
    v.graph_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    if (v.outcome != Outcome::Error) v.fetched_at_ms = unix_ms();
    v.source = VerdictSource::Graph;
    co_return v;
}

}  // namespace ig
