#include "proxy/front/upstream_pool.hpp"

#include "core/tls/tls_client.hpp"

#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/core/stream_traits.hpp>

#include <sys/socket.h>

#include <cerrno>

namespace ig {
namespace net = boost::asio;
namespace beast = boost::beast;

namespace {

constexpr auto nothrow = nothrow_on<WorkerExecutor>;

// A pooled connection the upstream closed (or, in plain HTTP, sent stray bytes on) must not be
// reused. One non-blocking peek tells: EAGAIN means open and quiet. Over TLS, pending bytes may be
// a session ticket, so only EOF/errors count.
bool still_open(WorkerTcpStream& stream, bool tls) {
    char byte;
    const ssize_t n = ::recv(stream.socket().native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n > 0) return tls;
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

}  // namespace

UpstreamConnection::UpstreamConnection(WorkerExecutor ex, const Runtime& rt) : generation(rt.generation) {
    // Beast reads as much as the buffer has room for, and at least 512 bytes: an empty buffer that
    // never grows made every upstream answer come in 512-byte reads, each relayed to the client as
    // its own TLS record (docs/performance.md, "Where a keep-alive request goes").
    buffer.reserve(read_reserve);
    if (rt.upstream_tls)
        tls.emplace(ex, *rt.upstream_tls);
    else
        plain.emplace(ex);
}

WorkerTcpStream& UpstreamConnection::tcp() { return tls ? beast::get_lowest_layer(*tls) : *plain; }

WorkerTask<boost::system::error_code> connect_upstream(UpstreamConnection& conn, const Runtime& rt) {
    const auto& up = rt.config.upstream;
    auto& tcp = conn.tcp();
    tcp.expires_after(up.timeout);
    auto [ec, endpoint] = co_await tcp.async_connect(rt.upstream_endpoints, nothrow);
    if (ec) co_return ec;
    tcp.socket().set_option(net::ip::tcp::no_delay(true), ec);
    if (conn.tls) {
        const auto deadline = std::chrono::steady_clock::now() + up.timeout;
        if (auto hec =
                co_await tls_client_handshake(*conn.tls, up.host, net::ssl::host_name_verification(up.host), deadline))
            co_return hec;
    }
    tcp.expires_never();
    co_return boost::system::error_code{};
}

std::unique_ptr<UpstreamConnection> UpstreamPool::take(const Runtime& rt, bool retryable) {
    const auto now = std::chrono::steady_clock::now();
    while (!idle_.empty()) {
        auto conn = std::move(idle_.back());
        idle_.pop_back();
        if (conn->generation != rt.generation || now - conn->idle_since > max_idle_time) continue;
        if (conn->buffer.size()) continue;
        // A request that can be sent again skips the check on a connection idle only briefly: if
        // the upstream closed it meanwhile, the response read finds the end with nothing received
        // and the request goes out again on a new connection (Session::send_request).
        const bool check = !retryable || now - conn->idle_since >= unchecked_idle_time;
        if (!check || still_open(conn->tcp(), conn->tls.has_value())) {
            conn->reused = true;
            return conn;
        }
    }
    return nullptr;
}

void UpstreamPool::give_back(std::unique_ptr<UpstreamConnection> conn) {
    conn->idle_since = std::chrono::steady_clock::now();
    if (idle_.size() >= max_idle) idle_.erase(idle_.begin());
    idle_.push_back(std::move(conn));
}

}  // namespace ig
