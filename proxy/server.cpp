#include "proxy/server.hpp"

#include "core/cidr.hpp"
#include "core/log.hpp"
#include "proxy/session.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <sys/socket.h>

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

// After an accept() failure (EMFILE, ENFILE, ENOBUFS: nothing to gain by retrying at once) the
// worker pauses; the failures are counted and logged at most once per interval.
constexpr auto accept_pause = std::chrono::milliseconds(100);
constexpr auto accept_error_log_interval = std::chrono::seconds(10);

std::string address_key(const tcp::socket& socket) {
    boost::system::error_code ec;
    const auto peer = socket.remote_endpoint(ec).address();
    if (ec) return {};
    return unmapped(peer).to_string();
}

void open_reuseport(tcp::acceptor& acceptor, const tcp::endpoint& endpoint) {
    acceptor.open(endpoint.protocol());
    acceptor.set_option(net::socket_base::reuse_address(true));
    const int one = 1;
    if (::setsockopt(acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
        throw boost::system::system_error(errno, boost::system::system_category(), "setsockopt SO_REUSEPORT");
    acceptor.bind(endpoint);
    acceptor.listen(net::socket_base::max_listen_connections);
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
    unsigned n = rt->config.workers ? rt->config.workers : std::thread::hardware_concurrency();
    if (n == 0) n = 1;
    tcp::endpoint endpoint(net::ip::make_address(rt->config.listen.address), rt->config.listen.port);
    for (unsigned i = 0; i < n; ++i) {
        auto w = std::make_unique<Worker>(compliance_, metrics_, draining_);
        open_reuseport(w->acceptor, endpoint);
        // With port 0 the first bind picks the port; the others share it.
        if (i == 0) endpoint.port(port_ = w->acceptor.local_endpoint().port());
        workers_.push_back(std::move(w));
    }
    for (auto& w : workers_) {
        Worker* worker = w.get();
        worker->ctx.worker_count = workers_.size();
        net::co_spawn(
            worker->io,
            [this, worker]() -> net::awaitable<void> {
                std::uint64_t errors_unlogged = 0;
                auto last_error_log = std::chrono::steady_clock::time_point{};
                for (;;) {
                    auto [ec, socket] = co_await worker->acceptor.async_accept(net::as_tuple(net::use_awaitable));
                    if (ec == net::error::operation_aborted || !worker->acceptor.is_open()) co_return;
                    if (ec) {
                        // e.g. EMFILE: the connection stays in the backlog and accept fails again at
                        // once; retrying without a pause would spin.
                        metrics_.accept_errors.inc();
                        ++errors_unlogged;
                        const auto now = std::chrono::steady_clock::now();
                        if (now - last_error_log >= accept_error_log_interval) {
                            log::error("accept failed; pausing before the next accept",
                                       {{"error", ec.message()},
                                        {"failures", errors_unlogged},
                                        {"pause_ms", accept_pause.count()}});
                            errors_unlogged = 0;
                            last_error_log = now;
                        }
                        net::steady_timer pause(worker->io, accept_pause);
                        co_await pause.async_wait(net::as_tuple(net::use_awaitable));
                        continue;
                    }
                    auto rt = current();
                    const auto& limits = rt->config.limits;
                    boost::system::error_code ignored;
                    if (connections_.load(std::memory_order_relaxed) >= limits.max_connections &&
                        !evict_oldest_handshake(worker->ctx)) {
                        // Full, and no connection still in its handshake to give way: refused.
                        metrics_.refused_max_connections.inc();
                        socket.close(ignored);
                        continue;
                    }
                    std::string address = address_key(socket);
                    {
                        std::lock_guard lock(addresses_mutex_);
                        auto& n = connections_per_address_[address];
                        if (n >= limits.max_connections_per_address) {
                            metrics_.refused_per_address.inc();
                            socket.close(ignored);
                            continue;
                        }
                        ++n;
                    }
                    connections_.fetch_add(1, std::memory_order_relaxed);
                    metrics_.open_connections.add(1);
                    net::co_spawn(worker->io, serve_connection(std::move(socket), std::move(rt), worker->ctx),
                                  [this, address = std::move(address)](std::exception_ptr e) {
                                      {
                                          std::lock_guard lock(addresses_mutex_);
                                          auto it = connections_per_address_.find(address);
                                          if (it != connections_per_address_.end() && --it->second == 0)
                                              connections_per_address_.erase(it);
                                      }
                                      connections_.fetch_sub(1, std::memory_order_relaxed);
                                      metrics_.open_connections.add(-1);
                                      if (!e) return;
                                      try {
                                          std::rethrow_exception(e);
                                      } catch (const std::exception& ex) {
                                          log::error("connection failed", {{"error", ex.what()}});
                                      } catch (...) {
                                          log::error("connection failed");
                                      }
                                  });
                }
            },
            net::detached);
        worker->thread = std::thread([worker] { worker->io.run(); });
    }
    listening_ = true;
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
