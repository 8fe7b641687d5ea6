#pragma once
// The authorization endpoint (plugin mode): plain HTTP/1.1 with keep-alive on authz.address:port
// for reverse proxies that terminate mTLS themselves and ask "may this request through?" with the
// client certificate in a header. Same runtime, compliance core, outcomes and actions as the front
// end; the answer comes from plan_answer(). Its own io_context, run by `workers` threads.
#include "core/verdict/compliance.hpp"
#include "proxy/admin/proxy_metrics.hpp"
#include "proxy/runtime.hpp"

#include <chrono>
#include <cstdint>
#include <memory>

namespace ig {

class AuthzServer {
public:
    // `compliance` and `metrics` must outlive the server.
    AuthzServer(std::shared_ptr<const Runtime> runtime, ComplianceService& compliance, ProxyMetrics& metrics);
    ~AuthzServer();  // stop()
    AuthzServer(const AuthzServer&) = delete;
    AuthzServer& operator=(const AuthzServer&) = delete;

    // Binds (throws boost::system::system_error when it cannot) and starts the threads.
    void start();
    std::uint16_t port() const;
    bool listening() const;

    // New connections get `runtime`; open ones keep theirs. The address is not re-bound.
    void swap_runtime(std::shared_ptr<const Runtime> runtime);

    // Stops accepting, closes idle connections, lets checks in flight finish. True when all ended.
    bool drain(std::chrono::steady_clock::time_point deadline);
    void stop();  // idempotent

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace ig
