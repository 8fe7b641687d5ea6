#pragma once
// One device asked of Graph under one configuration: the connection to login and Graph (kept across
// a reload that does not change it), the device read and its installed apps, turned into a verdict
// by verdict_for_reply(). The compliance service (compliance.cpp) decides when to ask; this is how.
// Call only from the service's strand.
#include "core/config/config.hpp"
#include "core/graph/graph_client.hpp"
#include "core/graph/http_client.hpp"
#include "core/graph/token_source.hpp"
#include "core/verdict/metrics.hpp"
#include "core/verdict/verdict.hpp"

#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <memory>
#include <string>

namespace ig {

// The HTTP connections to login and Graph and the access token of one tenant and application:
// kept across a reload that does not change them (IntuneConfig::connection()).
struct GraphConnection {
    GraphConnection(const IntuneConfig& c, CoreMetrics& metrics, std::atomic<TokenState>& token_state);
    HttpClient http;
    TokenSource tokens;
    GraphHold hold;  // Graph's back-off, kept with the connection across a reload
};

// The Graph client under one configuration: the settings, the connection it uses and the client.
// Replaced as a whole on reload; lookups in flight keep the old one alive until they finish.
struct ConfiguredGraph {
    ConfiguredGraph(const IntuneConfig& c, CoreMetrics& metrics, std::shared_ptr<GraphConnection> conn);
    IntuneConfig config;
    std::shared_ptr<GraphConnection> connection;
    GraphClient graph;
};

// Reads the device's detected apps into v (capped to intune.max_apps_header_bytes) and clears
// apps_pending; on failure the outcome stands and the apps header is left out (counted, logged).
boost::asio::awaitable<void> read_installed_apps(const std::shared_ptr<ConfiguredGraph>& b, const std::string& id,
                                                 Verdict& v, Clock::time_point deadline, const std::string& request_id);

// The device by the certificate's ID as device_id.lookup says (device_lookup.hpp; its apps under
// Intune's id when configured) by `deadline` → a verdict of source
// Graph; fetched_at_ms is set unless the outcome is Error.
boost::asio::awaitable<Verdict> ask_graph(std::shared_ptr<ConfiguredGraph> b, std::string id,
                                          Clock::time_point deadline, std::string request_id);

}  // namespace ig
