#include "proxy/listener.hpp"

#include "core/text/log.hpp"

#include <boost/asio/as_tuple.hpp>
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

boost::asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, Counter& errors,
                                         std::function<boost::asio::any_io_executor()> socket_executor,
                                         std::function<void(tcp::socket)> on_accept) {
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

}  // namespace ig
