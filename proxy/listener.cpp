#include "proxy/listener.hpp"

#include "core/identity/cidr.hpp"
#include "core/text/log.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <sys/socket.h>

#include <cerrno>
#include <thread>

namespace ig {
using tcp = boost::asio::ip::tcp;

namespace {
constexpr auto accept_pause = std::chrono::milliseconds(100);
constexpr auto accept_error_log_interval = std::chrono::seconds(10);
}  // namespace

unsigned worker_threads(unsigned configured) {
    if (configured) return configured;
    return std::max(1U, std::thread::hardware_concurrency());
}

void open_acceptor(tcp::acceptor& acceptor, const tcp::endpoint& endpoint, bool reuse_port) {
    acceptor.open(endpoint.protocol());
    acceptor.set_option(boost::asio::socket_base::reuse_address(true));
    const int one = 1;
    if (reuse_port && ::setsockopt(acceptor.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
        throw boost::system::system_error(errno, boost::system::system_category(), "setsockopt SO_REUSEPORT");
    acceptor.bind(endpoint);
    acceptor.listen(boost::asio::socket_base::max_listen_connections);
}

template <class SocketExecutor>
boost::asio::awaitable<void> accept_loop(
    tcp::acceptor& acceptor, Counter& errors, std::function<SocketExecutor()> socket_executor,
    std::function<void(boost::asio::basic_stream_socket<tcp, SocketExecutor>)> on_accept) {
    constexpr auto nothrow = boost::asio::as_tuple(boost::asio::use_awaitable);
    std::uint64_t errors_unlogged = 0;
    auto last_error_log = std::chrono::steady_clock::time_point{};
    for (;;) {
        auto [ec, socket] = co_await acceptor.async_accept(socket_executor(), nothrow);
        if (ec == boost::asio::error::operation_aborted || !acceptor.is_open()) co_return;
        if (!ec) {
            on_accept(std::move(socket));
            continue;
        }
        errors.inc();
        ++errors_unlogged;
        const auto now = std::chrono::steady_clock::now();
        if (now - last_error_log >= accept_error_log_interval) {
            log::error("accept failed; pausing before the next accept",
                       {{"error", ec.message()}, {"failures", errors_unlogged}, {"pause_ms", accept_pause.count()}});
            errors_unlogged = 0;
            last_error_log = now;
        }
        boost::asio::steady_timer pause(co_await boost::asio::this_coro::executor, accept_pause);
        co_await pause.async_wait(nothrow);
    }
}

void close_acceptor(tcp::acceptor& acceptor) {
    boost::asio::post(acceptor.get_executor(), [&acceptor] {
        boost::system::error_code ignored;
        acceptor.close(ignored);
    });
}

template <class SocketExecutor>
std::string peer_address(const boost::asio::basic_stream_socket<tcp, SocketExecutor>& socket) {
    boost::system::error_code ec;
    const auto peer = socket.remote_endpoint(ec).address();
    if (ec) return {};
    return unmapped(peer).to_string();
}

template boost::asio::awaitable<void> accept_loop(tcp::acceptor&, Counter&,
                                                  std::function<boost::asio::any_io_executor()>,
                                                  std::function<void(tcp::socket)>);
template boost::asio::awaitable<void> accept_loop(
    tcp::acceptor&, Counter&, std::function<boost::asio::io_context::executor_type()>,
    std::function<void(boost::asio::basic_stream_socket<tcp, boost::asio::io_context::executor_type>)>);
template std::string peer_address(const boost::asio::basic_stream_socket<tcp, boost::asio::io_context::executor_type>&);

void log_connection_failure(std::exception_ptr e, const char* message) {
    if (!e) return;
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& ex) {
        log::error(message, {{"error", ex.what()}});
    } catch (...) {
        log::error(message);
    }
}

void ConnectionCount::closed() {
    if (open_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
    std::lock_guard lock(mutex_);  // a waiter between its check and its wait still hears this
    all_closed_.notify_all();
}

bool ConnectionCount::wait_all_closed(std::chrono::steady_clock::time_point deadline) {
    std::unique_lock lock(mutex_);
    return all_closed_.wait_until(lock, deadline, [this] { return open_.load(std::memory_order_acquire) == 0; });
}

bool AddressCount::try_add(const std::string& address, std::size_t limit) {
    std::lock_guard lock(mutex_);
    auto& open = open_[address];
    if (open >= limit) {
        if (open == 0) open_.erase(address);
        return false;
    }
    ++open;
    return true;
}

void AddressCount::remove(const std::string& address) {
    std::lock_guard lock(mutex_);
    auto it = open_.find(address);
    if (it != open_.end() && --it->second == 0) open_.erase(it);
}

IdleRegistry::Member::Member(IdleRegistry& registry, boost::asio::any_io_executor ex, std::function<void()> close)
    : registry_(registry), ex_(std::move(ex)), close_(std::move(close)) {
    std::lock_guard lock(registry_.mutex_);
    id_ = ++registry_.next_id_;
    registry_.members_.emplace(id_, this);
}

IdleRegistry::Member::~Member() {
    std::lock_guard lock(registry_.mutex_);
    registry_.members_.erase(id_);
}

void IdleRegistry::Member::idle(bool waiting) {
    waiting_ = waiting;
    idle_since_.store(
        waiting ? std::max<std::int64_t>(1, std::chrono::steady_clock::now().time_since_epoch().count()) : 0,
        std::memory_order_relaxed);
}

// Posted, so that the flag is read where it is written; by id, so that a connection gone by then
// (its memory perhaps reused) is left alone.
void IdleRegistry::close_on_executor(Member& m) {
    boost::asio::post(m.ex_, [this, id = m.id_] {
        Member* member = nullptr;
        {
            std::lock_guard lock(mutex_);
            auto it = members_.find(id);
            if (it != members_.end()) member = it->second;
        }
        // Only this executor ends the member's connection, so it outlives the call.
        if (member && member->waiting_) member->close_();
    });
}

bool IdleRegistry::evict_oldest_idle() {
    std::lock_guard lock(mutex_);
    Member* oldest = nullptr;
    std::int64_t oldest_since = 0;
    for (auto& [id, m] : members_) {
        const auto since = m->idle_since_.load(std::memory_order_relaxed);
        if (since != 0 && (!oldest || since < oldest_since)) {
            oldest = m;
            oldest_since = since;
        }
    }
    if (!oldest) return false;
    oldest->idle_since_.store(0, std::memory_order_relaxed);  // not picked twice
    close_on_executor(*oldest);
    return true;
}

void IdleRegistry::close_idle() {
    std::lock_guard lock(mutex_);
    for (auto& [id, m] : members_) close_on_executor(*m);
}

}  // namespace ig
