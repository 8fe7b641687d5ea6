#pragma once
// The front end: `workers` threads, each with its own io_context, its own SO_REUSEPORT acceptor
// and its own upstream pool, so nothing is handed between threads on the hot path.
#include "core/verdict/compliance.hpp"
#include "proxy/admin/proxy_metrics.hpp"
#include "proxy/runtime.hpp"

#include <boost/asio/ip/tcp.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
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

    // New connections get `runtime`; open ones keep theirs. The listen address is not re-bound.
    void swap_runtime(std::shared_ptr<const Runtime> runtime);
    std::shared_ptr<const Runtime> runtime() const;

    void stop_accepting();
    // Stops accepting, closes idle keep-alive connections and lets in-flight requests finish
    // (their connections close after the response). True when every connection ended in time.
    bool drain(std::chrono::steady_clock::time_point deadline);
    // Stops every worker (open connections are dropped) and joins the threads. Idempotent.
    void stop();

    ProxyMetrics& metrics() { return metrics_; }
    std::size_t open_connections() const { return connections_.load(); }

private:
    struct Worker;

    std::shared_ptr<const Runtime> current() const;
    // Admits a new connection (or refuses it at a limit) and starts its session on `worker`.
    void on_accept(Worker& worker, boost::asio::ip::tcp::socket socket);

    mutable std::mutex runtime_mutex_;
    std::shared_ptr<const Runtime> runtime_;
    ComplianceService& compliance_;
    ProxyMetrics& metrics_;
    std::vector<std::unique_ptr<Worker>> workers_;
    std::atomic<std::size_t> connections_{0};
    std::mutex addresses_mutex_;
    std::unordered_map<std::string, std::size_t> connections_per_address_;  // open connections by client address
    std::atomic<bool> draining_{false};
    std::atomic<bool> listening_{false};
    std::uint16_t port_ = 0;
    bool stopped_ = false;
};

}  // namespace ig
