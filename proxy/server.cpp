#include "proxy/server.hpp"

#include "core/log.hpp"
#include "proxy/session.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <sys/socket.h>

#include <csignal>

#include <thread>

namespace ig {
namespace net = boost::asio;
using tcp = net::ip::tcp;

struct Server::Worker {
    Worker(ComplianceService& compliance, ProxyMetrics& metrics, const std::atomic<bool>& draining)
        : ctx{compliance, metrics, draining, {}, {}, {}}, io(1), acceptor(io) {}
    // Idle upstream sockets go first; the io_context then destroys the suspended sessions, which
    // still unregister from ctx, so ctx is declared before (and outlives) io.
    ~Worker() { ctx.pool.clear(); }

    WorkerContext ctx;
    net::io_context io;
    tcp::acceptor acceptor;
    std::thread thread;
};

namespace {

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
        net::co_spawn(worker->io, [this, worker]() -> net::awaitable<void> {
            for (;;) {
                auto [ec, socket] = co_await worker->acceptor.async_accept(net::as_tuple(net::use_awaitable));
                if (ec == net::error::operation_aborted || !worker->acceptor.is_open()) co_return;
                if (ec) continue;  // e.g. EMFILE: the next accept may succeed
                auto rt = current();
                if (connections_.load(std::memory_order_relaxed) >= rt->config.limits.max_connections) {
                    boost::system::error_code ignored;
                    socket.close(ignored);
                    continue;
                }
                connections_.fetch_add(1, std::memory_order_relaxed);
                metrics_.open_connections.add(1);
                net::co_spawn(worker->io, serve_connection(std::move(socket), std::move(rt), worker->ctx),
                              [this](std::exception_ptr e) {
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
        }, net::detached);
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
