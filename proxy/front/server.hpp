#pragma once
// The front end: `workers` threads, each with its own io_context, its own SO_REUSEPORT acceptor
// and its own upstream pool, so nothing is handed between threads on the hot path.
#include "core/verdict/compliance.hpp"
#include "proxy/admin/proxy_metrics.hpp"
#include "proxy/front/worker_executor.hpp"
#include "proxy/listener.hpp"
#include "proxy/runtime.hpp"

#include <boost/asio/ip/tcp.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

namespace ig {

class Server {
public:
    // `compliance` and `metrics` must outlive the server.
    Server(std::shared_ptr<const Runtime> runtime, ComplianceService& compliance, ProxyMetrics& metrics);
    ~Server();  // stop()
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Binds every worker's acceptor (throws boost::system::system_error when it cannot), then
    // starts the worker threads.
    void start();
    std::uint16_t port() const { return port_; }  // the bound port (useful with port 0)
    bool listening() const { return listening_.load(); }

    // New connections get `runtime`; open ones keep theirs, which verified their client certificate.
    // When what verifies client certificates changed (client_ca, crl, client_certificate: the
    // session id context), the older connections close once idle (docs/hostile-clients.md). The
    // listen address is not re-bound.
    void swap_runtime(std::shared_ptr<const Runtime> runtime);
    std::shared_ptr<const Runtime> runtime() const;

    void stop_accepting();
    // Stops accepting, closes idle keep-alive connections and lets in-flight requests finish
    // (their connections close after the response). True when every connection ended in time.
    bool drain(std::chrono::steady_clock::time_point deadline);
    // Stops every worker (open connections are dropped) and joins the threads. Idempotent.
    void stop();

    ProxyMetrics& metrics() { return metrics_; }
    std::size_t open_connections() const { return connections_.open(); }

private:
    struct Worker;

    // Admits a new connection (or refuses it at a limit) and starts its session on `worker`.
    void on_accept(Worker& worker, WorkerSocket socket);

    Current<Runtime> runtime_;
    ComplianceService& compliance_;
    ProxyMetrics& metrics_;
    ConnectionCount connections_;
    AddressCount addresses_;  // open connections by client address
    std::vector<std::unique_ptr<Worker>> workers_;
    std::atomic<bool> draining_{false};
    std::atomic<bool> listening_{false};
    std::uint16_t port_ = 0;
    bool stopped_ = false;
};

}  // namespace ig
