#pragma once
// The admin listener (SPEC §9): plain HTTP on admin.address:port, on a thread of its own so a busy or
// draining gateway never makes /healthz slow. It knows nothing of the gateway: it asks the callbacks.
//   GET /healthz -> 200 "ok"
//   GET /readyz  -> 503 until ready() says true, then 200; the JSON body tells the token state
//   GET /metrics -> 200, metrics() in Prometheus text format
// Anything else is 404 (405 for another method on a known path).
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace ig {

struct AdminHandlers {
    std::function<bool()> ready;                     // the gateway listens and is configured
    std::function<std::optional<bool>()> token_ok;   // ComplianceService::token_ok(); may be empty
    std::function<std::string()> metrics;            // the /metrics body; may be empty
};

struct AdminLimits {
    std::chrono::milliseconds timeout{10000};  // per read or write, idle keep-alive included
    std::size_t max_connections = 64;
    std::size_t max_header_bytes = 8192;
};

class AdminServer {
public:
    // Binds and listens before returning; throws boost::system::system_error when it cannot.
    AdminServer(const std::string& address, std::uint16_t port, AdminHandlers handlers, AdminLimits limits = {});
    ~AdminServer();  // stop()
    AdminServer(const AdminServer&) = delete;
    AdminServer& operator=(const AdminServer&) = delete;

    std::uint16_t port() const;  // the bound port (useful with port 0); any thread
    void stop();                 // closes the listener and every admin connection; idempotent

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace ig
