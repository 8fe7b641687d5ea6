#pragma once
// What the front end and the authorization endpoint share about listening: how many threads,
// how an acceptor is opened, the accept loop with its back-off, and the log line of a
// connection whose coroutine threw.
#include "core/verdict/metrics.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <exception>
#include <functional>

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
boost::asio::awaitable<void> accept_loop(boost::asio::ip::tcp::acceptor& acceptor, Counter& errors,
                                         std::function<boost::asio::any_io_executor()> socket_executor,
                                         std::function<void(boost::asio::ip::tcp::socket)> on_accept);

// For co_spawn's completion: logs what a connection's coroutine threw, if anything.
void log_connection_failure(std::exception_ptr e, const char* message);

}  // namespace ig
