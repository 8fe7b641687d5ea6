#include "proxy/front/server.hpp"

#include "proxy/front/session.hpp"
#include "proxy/listener.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>

#include <csignal>
#include <thread>

namespace ig {
namespace net = boost::asio;
using tcp = net::ip::tcp;

struct Server::Worker {
    Worker(ComplianceService& compliance, ProxyMetrics& metrics, const std::atomic<bool>& draining)
        : ctx{compliance, metrics, draining, {}, {}, {}, {}, {}, {}, 1}, io(1), acceptor(io) {}
    // Idle upstream sockets go first; the io_context then destroys the suspended sessions, which
    // still unregister from ctx, so ctx is declared before (and outlives) io.
    ~Worker() { ctx.pool.clear(); }

    WorkerContext ctx;
    net::io_context io;
    tcp::acceptor acceptor;
    std::thread thread;
};

Server::Server(std::shared_ptr<const Runtime> runtime, ComplianceService& compliance, ProxyMetrics& metrics)
    : runtime_(std::move(runtime)), compliance_(compliance), metrics_(metrics) {}

Server::~Server() { stop(); }

std::shared_ptr<const Runtime> Server::runtime() const { return runtime_.get(); }

void Server::swap_runtime(std::shared_ptr<const Runtime> runtime) {
    const std::uint64_t generation = runtime->generation;
    const bool trust_changed = runtime->client_trust != runtime_.get()->client_trust;
    runtime_.swap(std::move(runtime));
    if (!trust_changed) return;
    for (auto& w : workers_)
        net::post(w->io, [worker = w.get(), generation] {
            for (Session* s : worker->ctx.sessions) retire_if_older(*s, generation);
        });
}

void Server::start() {
    // Client TLS is written by OpenSSL straight to the socket (write(2), no MSG_NOSIGNAL): a peer
    // that went away must give EPIPE, not kill the process.
    std::signal(SIGPIPE, SIG_IGN);
    const auto rt = runtime_.get();
    const unsigned n = worker_threads(rt->config.workers);
    tcp::endpoint endpoint(net::ip::make_address(rt->config.listen.address), rt->config.listen.port);
    for (unsigned i = 0; i < n; ++i) {
        auto w = std::make_unique<Worker>(compliance_, metrics_, draining_);
        open_acceptor(w->acceptor, endpoint, true);
        // With port 0 the first bind picks the port; the others share it.
        if (i == 0) endpoint.port(port_ = w->acceptor.local_endpoint().port());
        workers_.push_back(std::move(w));
    }
    for (auto& w : workers_) {
        Worker* worker = w.get();
        worker->ctx.worker_count = workers_.size();
        net::co_spawn(worker->io,
                      accept_loop<WorkerExecutor>(
                          worker->acceptor, metrics_.accept_errors, [worker] { return worker->io.get_executor(); },
                          [this, worker](WorkerSocket socket) { on_accept(*worker, std::move(socket)); }),
                      net::detached);
        worker->thread = std::thread([worker] { worker->io.run(); });
    }
    listening_ = true;
}

void Server::on_accept(Worker& worker, WorkerSocket socket) {
    auto rt = runtime_.get();
    const auto& limits = rt->config.limits;
    boost::system::error_code ignored;
    if (connections_.open() >= limits.max_connections && !evict_oldest_unproven(worker.ctx)) {
        // Full, and no connection of this worker still without a complete request to give way.
        metrics_.refused_max_connections.inc();
        socket.close(ignored);
        return;
    }
    std::string address = peer_address(socket);
    if (!addresses_.try_add(address, limits.max_connections_per_address)) {
        metrics_.refused_per_address.inc();
        socket.close(ignored);
        return;
    }
    connections_.opened();
    metrics_.open_connections.add(1);
    net::co_spawn(worker.io, serve_connection(std::move(socket), std::move(rt), worker.ctx),
                  [this, address = std::move(address)](std::exception_ptr e) {
                      addresses_.remove(address);
                      metrics_.open_connections.add(-1);
                      log_connection_failure(e, "connection failed");
                      connections_.closed();
                  });
}

void Server::stop_accepting() {
    listening_ = false;
    for (auto& w : workers_) close_acceptor(w->acceptor);
}

bool Server::drain(std::chrono::steady_clock::time_point deadline) {
    stop_accepting();
    draining_ = true;
    for (auto& w : workers_) {
        net::post(w->io, [worker = w.get()] {
            for (Session* s : worker->ctx.sessions) close_if_idle(*s);
        });
    }
    return connections_.wait_all_closed(deadline);
}

void Server::stop() {
    if (stopped_) return;
    stopped_ = true;
    listening_ = false;
    for (auto& w : workers_) w->io.stop();
    for (auto& w : workers_)
        if (w->thread.joinable()) w->thread.join();
    workers_.clear();
}

}  // namespace ig
