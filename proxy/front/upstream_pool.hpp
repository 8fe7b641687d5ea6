#pragma once
// Keep-alive connections to the upstream. One pool per worker thread, used only on that thread,
// so it needs no lock.
#include "core/tls/tls_client.hpp"
#include "proxy/front/worker_executor.hpp"
#include "proxy/runtime.hpp"

#include <boost/beast/core/flat_buffer.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <vector>

namespace ig {

struct UpstreamConnection {
    static constexpr std::size_t read_reserve = 16 * 1024;  // one TLS record's worth of plaintext

    using TlsStream = BasicTlsClientStream<WorkerExecutor>;

    UpstreamConnection(WorkerExecutor ex, const Runtime& rt);

    WorkerTcpStream& tcp();

    std::optional<WorkerTcpStream> plain;
    std::optional<TlsStream> tls;
    boost::beast::flat_buffer buffer;
    std::uint64_t generation = 0;
    std::chrono::steady_clock::time_point idle_since{};
    bool reused = false;
};

// Connects (and for https: SNI, handshake, certificate and host name verified) within upstream.timeout.
WorkerTask<boost::system::error_code> connect_upstream(UpstreamConnection& conn, const Runtime& rt);

class UpstreamPool {
public:
    static constexpr std::size_t max_idle = 256;
    static constexpr std::chrono::seconds max_idle_time{30};

    // Below this idle time a pooled connection is not checked before a retryable request (see take).
    // Servers close idle keep-alive connections after seconds (and may send a 408 first, which a
    // reused connection would otherwise read as the answer); a loaded pool reuses in microseconds.
    static constexpr std::chrono::seconds unchecked_idle_time{1};

    // An idle connection of this runtime generation that still looks open, or null. retryable: the
    // request may be sent twice (idempotent, no body), so a connection idle for less than
    // unchecked_idle_time is taken without the check (one recv(MSG_PEEK) system call).
    std::unique_ptr<UpstreamConnection> take(const Runtime& rt, bool retryable);
    void give_back(std::unique_ptr<UpstreamConnection> conn);
    void clear() { idle_.clear(); }
    std::size_t idle() const { return idle_.size(); }

private:
    std::vector<std::unique_ptr<UpstreamConnection>> idle_;  // most recently used last
};

}  // namespace ig
