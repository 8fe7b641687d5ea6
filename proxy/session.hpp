#pragma once
// One client connection: TLS handshake → device ID (once) → requests until close or idle timeout.
#include "core/compliance.hpp"
#include "proxy/proxy_metrics.hpp"
#include "proxy/runtime.hpp"
#include "proxy/upstream_pool.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <atomic>
#include <memory>
#include <unordered_set>
#include <vector>

namespace ig {

class Session;

// What a worker thread shares with its connections; touched only on that worker's thread,
// except the atomics.
struct WorkerContext {
    ComplianceService& compliance;
    ProxyMetrics& metrics;
    const std::atomic<bool>& draining;  // finish the current request, then close
    UpstreamPool pool;
    std::unordered_set<Session*> sessions;
    // Relay buffers are lent per forwarded request, so an idle keep-alive connection holds none.
    std::vector<std::unique_ptr<char[]>> spare_buffers;
};

// Serves one accepted connection to its end. `runtime` is the snapshot taken at accept.
boost::asio::awaitable<void> serve_connection(boost::asio::ip::tcp::socket socket,
                                              std::shared_ptr<const Runtime> runtime, WorkerContext& worker);

// Closes the connection if it is waiting for a request (drain); otherwise it closes after the
// current response. Worker thread only.
void close_if_idle(Session& session);

}  // namespace ig
