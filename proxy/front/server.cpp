#include "proxy/front/server.hpp"

#include "core/identity/cidr.hpp"
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
        : ctx{compliance, metrics, draining, {}, {}, {}, {}, 1}, io(1), acceptor(io) {}
    // Idle upstream sockets go first; the io_context then destroys the suspended sessions, which
    // still unregister from ctx, so ctx is declared before (and outlives) io.
    ~Worker() { ctx.pool.clear(); }

    WorkerContext ctx;
    net::io_context io;
    tcp::acceptor acceptor;
    std::thread thread;
};

namespace {

std::string address_key(const tcp::socket& socket) {
    boost::system::error_code ec;
    const auto peer = socket.remote_endpoint(ec).address();
    if (ec) return {};
    return unmapped(peer).to_string();
}

}  // namespace

Server::Server(std::shared_ptr<const Runtime> runtime, ComplianceService& compliance, ProxyMetrics& metrics)
    : runtime_(std::move(runtime)), compliance_(compliance), metrics_(metrics) {}

Server::~Server() { stop(); }

std::shared_ptr<const Runtime> Server::current() const {
    std::lock_guard lock(runtime_mutex_);
    return runtime_;
}

std::shared_ptr<const Runtime> Server::runtime() const { return current(); }

void Server::swap_runtime(std::shared_ptr<const Runtime> runtime) {
    std::lock_guard lock(runtime_mutex_);
    runtime_ = std::move(runtime);
}

void Server::start() {
    // Client TLS is written by OpenSSL straight to the socket (write(2), no MSG_NOSIGNAL): a peer
    // that went away must give EPIPE, not kill the process.
    std::signal(SIGPIPE, SIG_IGN);
    const auto rt = current();
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
                      accept_loop(
                          worker->acceptor, metrics_.accept_errors, [worker] { return worker->io.get_executor(); },
                          [this, worker](tcp::socket socket) { on_accept(*worker, std::move(socket)); }),
                      net::detached);
        worker->thread = std::thread([worker] { worker->io.run(); });
    }
    listening_ = true;
}

void Server::on_accept(Worker& worker, tcp::socket socket) {
    auto rt = current();
    const auto& limits = rt->config.limits;
    boost::system::error_code ignored;
    if (connections_.load(std::memory_order_relaxed) >= limits.max_connections && !evict_oldest_handshake(worker.ctx)) {
        // Full, and no connection still in its handshake to give way: refused.
        metrics_.refused_max_connections.inc();
        socket.close(ignored);
        return;
    }
    std::string address = address_key(socket);
    {
        std::lock_guard lock(addresses_mutex_);
        auto& open = connections_per_address_[address];
        if (open >= limits.max_connections_per_address) {
            metrics_.refused_per_address.inc();
            socket.close(ignored);
            return;
        }
        ++open;
    }
    connections_.fetch_add(1, std::memory_order_relaxed);
    metrics_.open_connections.add(1);
    net::co_spawn(worker.io, serve_connection(std::move(socket), std::move(rt), worker.ctx),
                  [this, address = std::move(address)](std::exception_ptr e) {
                      {
                          std::lock_guard lock(addresses_mutex_);
                          auto it = connections_per_address_.find(address);
                          if (it != connections_per_address_.end() && --it->second == 0)
                              connections_per_address_.erase(it);
                      }
                      connections_.fetch_sub(1, std::memory_order_relaxed);
                      metrics_.open_connections.add(-1);
                      log_connection_failure(e, "connection failed");
                  });
}

void Server::stop_accepting() {
    listening_ = false;
    for (auto& w : workers_) {
        net::post(w->io, [worker = w.get()] {
            boost::system::error_code ignored;
            worker->acceptor.close(ignored);
        });
    }
}

bool Server::drain(std::chrono::steady_clock::time_point deadline) {
    stop_accepting();
    draining_ = true;
    for (auto& w : workers_) {
        net::post(w->io, [worker = w.get()] {
            for (Session* s : worker->ctx.sessions) close_if_idle(*s);
        });
    }
    while (connections_.load() > 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    return connections_.load() == 0;
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
