#pragma once
// The front end's coroutines, sockets and timers run on their worker's io_context and name its
// executor type, not boost::asio::any_io_executor: the type-erased executor was copied, preferred
// and destroyed on every asynchronous step of a request, and every completion went through a
// type-erased function (docs/performance.md, "Round five").
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/basic_stream_socket.hpp>
#include <boost/asio/detail/thread_info_base.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>

namespace ig {

// The build raises Asio's per-thread cache of freed coroutine frames (CMakeLists.txt); a
// translation unit built without it would disagree with the others on Asio's per-thread state.
static_assert(boost::asio::detail::thread_info_base::awaitable_frame_tag::cache_size == 16,
              "BOOST_ASIO_RECYCLING_ALLOCATOR_CACHE_SIZE must be 16 in every translation unit");

using WorkerExecutor = boost::asio::io_context::executor_type;

template <class T>
using WorkerTask = boost::asio::awaitable<T, WorkerExecutor>;

using WorkerSocket = boost::asio::basic_stream_socket<boost::asio::ip::tcp, WorkerExecutor>;
using WorkerTcpStream = boost::beast::basic_stream<boost::asio::ip::tcp, WorkerExecutor>;

// A coroutine of executor Executor awaits an operation as (error_code, results...) without throwing.
template <class Executor>
inline constexpr auto nothrow_on = boost::asio::as_tuple(boost::asio::use_awaitable_t<Executor>{});

}  // namespace ig
