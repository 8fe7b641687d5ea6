#pragma once
// One client connection: TLS handshake → device ID (once) → requests until close or idle timeout.
#include "core/verdict/compliance.hpp"
#include "proxy/admin/proxy_metrics.hpp"
#include "proxy/front/upstream_pool.hpp"
#include "proxy/front/worker_executor.hpp"
#include "proxy/http/request_arena.hpp"
#include "proxy/runtime.hpp"

#include <atomic>
#include <list>
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
    // The same for the blocks that hold a request's header fields (proxy/http/request_arena.hpp).
    RequestArena::Spares spare_arenas;
    // Connections still in their TLS handshake, oldest first.
    std::list<Session*> handshaking;
    // Connections that have not sent a complete request yet (handshake included), oldest first.
    std::list<Session*> unproven;
    std::size_t worker_count = 1;  // limits.max_pending_handshakes is shared among the workers
};

// Serves one accepted connection to its end. `runtime` is the snapshot taken at accept.
WorkerTask<void> serve_connection(WorkerSocket socket, std::shared_ptr<const Runtime> runtime, WorkerContext& worker);

// Closes the connection if it is waiting for a request (drain); otherwise it closes after the
// current response. Worker thread only.
void close_if_idle(Session& session);

// A reload changed what verifies client certificates: a connection accepted under an older
// runtime than `generation` closes once idle (one still in its handshake after its first request).
// Worker thread only.
void retire_if_older(Session& session, std::uint64_t generation);

// Ends the worker's oldest connection that is still in its TLS handshake; false when there is none.
// Worker thread only.
bool evict_oldest_handshake(WorkerContext& worker);

// Ends the worker's oldest connection that has not sent a complete request and is not busy with
// one (in its handshake, or waiting for its first request header): room at max_connections.
// False when there is none. Worker thread only.
bool evict_oldest_unproven(WorkerContext& worker);

}  // namespace ig
