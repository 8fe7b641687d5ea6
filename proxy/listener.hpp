#pragma once
// The skeleton every listener shares (front end, authorization endpoint, admin): how many threads,
// how an acceptor is opened, the accept loop with its back-off, the configuration in force
// (swapped by a reload), the count of open connections that a drain waits on, per-address counts,
// and the registry of connections that wait for a request (closed by a drain, or evicted to make
// room). docs/hostile-clients.md says what each listener bounds.
#include "core/verdict/metrics.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace ig {

// `configured`, or one per core when it is 0.
unsigned worker_threads(unsigned configured);

// Opens, binds and listens; throws boost::system::system_error. With `reuse_port`, several
// acceptors (one per worker) share the address and the kernel spreads connections over them.
void open_acceptor(boost::asio::ip::tcp::acceptor& acceptor, const boost::asio::ip::tcp::endpoint& endpoint,
                   bool reuse_port);

// Accepts until the acceptor is closed, each new socket on an executor from `socket_executor`,
// and hands it to `on_accept`. A failed accept (EMFILE, ENFILE, ENOBUFS: retrying at once would
// spin, the connection stays in the backlog) is counted in `errors`, logged at most once per
// 10 s, and followed by a 100 ms pause.
// SocketExecutor: the accepted sockets' executor type (boost::asio::any_io_executor, or the front
// end's worker executor, proxy/front/worker_executor.hpp); both are defined.
template <class SocketExecutor>
boost::asio::awaitable<void> accept_loop(
    boost::asio::ip::tcp::acceptor& acceptor, Counter& errors, std::function<SocketExecutor()> socket_executor,
    std::function<void(boost::asio::basic_stream_socket<boost::asio::ip::tcp, SocketExecutor>)> on_accept);

// Closes `acceptor` on its own executor (any thread): the accept loop ends.
void close_acceptor(boost::asio::ip::tcp::acceptor& acceptor);

// The peer's address as text (an IPv4-mapped one as IPv4); empty when the socket has none.
// Defined for the front end's worker sockets (proxy/front/worker_executor.hpp).
template <class SocketExecutor>
std::string peer_address(const boost::asio::basic_stream_socket<boost::asio::ip::tcp, SocketExecutor>& socket);

// For co_spawn's completion: logs what a connection's coroutine threw, if anything.
void log_connection_failure(std::exception_ptr e, const char* message);

// The snapshot in force (the Runtime, for the front end and the endpoint): read at accept or per
// request, replaced by a reload. Any thread.
template <class T>
class Current {
public:
    explicit Current(std::shared_ptr<const T> value) : value_(std::move(value)) {}
    std::shared_ptr<const T> get() const {
        std::lock_guard lock(mutex_);
        return value_;
    }
    // Returns the one it replaces.
    std::shared_ptr<const T> swap(std::shared_ptr<const T> value) {
        std::lock_guard lock(mutex_);
        value_.swap(value);
        return value;
    }

private:
    mutable std::mutex mutex_;
    std::shared_ptr<const T> value_;
};

// Open connections of one listener. A drain waits for zero on a condition variable (no polling).
// Any thread.
class ConnectionCount {
public:
    std::size_t open() const { return open_.load(std::memory_order_relaxed); }
    void opened() { open_.fetch_add(1, std::memory_order_relaxed); }
    void closed();
    // True when every connection closed before `deadline`.
    bool wait_all_closed(std::chrono::steady_clock::time_point deadline);

private:
    std::atomic<std::size_t> open_{0};
    std::mutex mutex_;
    std::condition_variable all_closed_;
};

// Open connections by client address, for limits.max_connections_per_address. Any thread.
class AddressCount {
public:
    // Counts one more for `address`; false (nothing counted) when it already has `limit`.
    bool try_add(const std::string& address, std::size_t limit);
    void remove(const std::string& address);

private:
    std::mutex mutex_;
    std::unordered_map<std::string, std::size_t> open_;
};

// The connections of a listener, each able to say whether it waits for a request (idle: between
// requests, or reading a header not yet complete). A drain closes the idle ones; when the listener
// is full, the one idle the longest is closed to make room. Any thread; `close_if_idle` runs on
// the executor the connection gave, where its `idle` flag is written.
class IdleRegistry {
public:
    class Member {
    public:
        // `close` cancels the connection's pending read; it runs on `ex` only.
        Member(IdleRegistry& registry, boost::asio::any_io_executor ex, std::function<void()> close);
        ~Member();
        Member(const Member&) = delete;
        Member& operator=(const Member&) = delete;
        // On the connection's executor: true while it waits for (the rest of) a request header.
        void idle(bool waiting);

    private:
        friend class IdleRegistry;
        IdleRegistry& registry_;
        boost::asio::any_io_executor ex_;
        std::function<void()> close_;
        std::uint64_t id_;
        bool waiting_ = false;  // the connection's executor only
        std::atomic<std::int64_t> idle_since_{0};  // steady clock ticks, 0 while busy or picked
    };

    // Closes the connection idle the longest; false when none is idle.
    bool evict_oldest_idle();
    // Closes every connection that is idle now (the others close after their current request).
    void close_idle();

private:
    void close_on_executor(Member& m);

    std::mutex mutex_;
    std::uint64_t next_id_ = 0;
    std::unordered_map<std::uint64_t, Member*> members_;
};

}  // namespace ig
