#pragma once
// The admin listener (docs/operations.md): plain HTTP on admin.address:port, on a thread of its own so a busy or
// draining gateway never makes /healthz slow. It knows nothing of the gateway: it asks the callbacks.
//   GET /healthz -> 200 "ok"
//   GET /readyz  -> 503 until ready() says true, then 200; the JSON body tells the token state
//   GET /metrics -> 200, metrics() in Prometheus text format
//   GET /devices/{id}          -> 200 the cached verdict as JSON, 404 when none; 400 for an id that is not a GUID
//   POST /devices/{id}/refresh -> drops the cached verdict, looks the device up now, 200 the new verdict;
//                                 429 + Retry-After past its rate (proxy/admin/refresh_limit.hpp)
// Anything else is 404 (405 for another method on a known path). When token() gives a token, every
// path but /healthz and /readyz needs "Authorization: Bearer <token>" (401 otherwise).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace ig {

// A device's verdict for the help desk.
struct DeviceView {
    std::string device_id;
    std::string outcome;
    std::string compliance_state;
    std::string source;  // graph, sync, shared, stale
    std::string reason;
    long long age_s = 0;
    long long ttl_s = 0;  // 0: not cached (an Error is never cached)
    std::string facts_json;  // the device facts access policies read, as a JSON object; empty: none known
};

struct AdminHandlers {
    std::function<bool()> ready;  // the gateway listens and is configured
    std::function<std::optional<bool>()> token_ok;  // ComplianceService::token_ok(); may be empty
    std::function<std::string()> metrics;  // the /metrics body; may be empty
    std::function<std::string()> token;  // the admin token now (empty: none); may be empty
    // The cached verdict of a device (a lower-case GUID), or nothing.
    std::function<std::optional<DeviceView>(const std::string& id)> device;
    // Drops the cached verdict and looks the device up; `done` may run on any thread.
    std::function<void(const std::string& id, std::function<void(DeviceView)> done)> refresh;
    // GET /devices/{id}?url=URL: the access policy for URL with the device's cached verdict, as a
    // JSON object {name, result, requirement, detail} ("null" when none applies); may be empty.
    std::function<std::string(const std::string& id, std::string_view url)> policy;
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
    void stop();  // closes the listener and every admin connection; idempotent

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace ig
