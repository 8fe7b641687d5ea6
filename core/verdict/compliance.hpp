#pragma once
// The compliance core's one entry point for the proxy: device ID in, Verdict out (README: How a request flows,
// `intune`).
#include "core/config/config.hpp"
#include "core/verdict/metrics.hpp"
#include "core/verdict/verdict.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace ig {

class ComplianceService {
public:
    using Callback = std::function<void(Verdict)>;

    // All network I/O of the core runs on `io` (the core's own thread in the gateway).
    ComplianceService(boost::asio::any_io_executor io, const IntuneConfig& config, CoreMetrics& metrics);
    ~ComplianceService();
    ComplianceService(const ComplianceService&) = delete;
    ComplianceService& operator=(const ComplianceService&) = delete;

    // Fast path, any thread: a fresh cached verdict, or nothing.
    std::optional<Verdict> cached(std::string_view device_id);

    // Looks the device up (cache, single-flight, Graph). `done` runs on the core's executor.
    // device_id is normalised here (any spelling of a GUID); anything else completes with an Error
    // verdict "invalid device id". request_id (the gateway's X-Request-Id) goes to Graph as
    // client-request-id when this lookup is the one that calls Graph.
    void lookup(std::string device_id, Callback done, std::string request_id = {});

    // The same as lookup(), completing on the caller's associated executor (use with use_awaitable etc.).
    template <class CompletionToken>
    auto async_lookup(std::string device_id, std::string request_id, CompletionToken&& token) {
        return boost::asio::async_initiate<CompletionToken, void(Verdict)>(
            [this](auto handler, std::string id, std::string rid) {
                auto ex = boost::asio::get_associated_executor(handler, io_);
                auto shared = std::make_shared<decltype(handler)>(std::move(handler));
                lookup(
                    std::move(id),
                    [ex, shared](Verdict v) {
                        boost::asio::post(ex, [shared, v = std::move(v)]() mutable { (*shared)(std::move(v)); });
                    },
                    std::move(rid));
            },
            token, std::move(device_id), std::move(request_id));
    }
    template <class CompletionToken>
    auto async_lookup(std::string device_id, CompletionToken&& token) {
        return async_lookup(std::move(device_id), std::string(), std::forward<CompletionToken>(token));
    }

    // Asks Graph now, leaving the cache as it is (single flight and caches skipped): the help desk's
    // refresh of a device nothing is cached for, which must not push real verdicts out (issue 26 #8).
    void look_up_uncached(std::string device_id, Callback done);

    // "Check again" (README: `intune.recheck_interval_s`): true when the device may be rechecked now,
    // i.e. it was not within `interval` (and the bounded table of recent rechecks had room; then it
    // is remembered). Any thread.
    bool admit_recheck(std::string_view device_id, std::chrono::seconds interval);

    // Fetches a token now and keeps it fresh in the background, so that requests do not wait for
    // the identity platform (and /readyz knows early whether the credentials work).
    void start_token_refresh();

    // The help desk: what is cached for a device (any thread), nothing when nothing is.
    std::optional<CacheEntryInfo> inspect(std::string_view device_id) const;

    // Drops the device's verdict here and in the shared cache; `done` runs on the core's executor
    // once both are gone (or the shared cache did not answer in time).
    void invalidate(std::string device_id, std::function<void()> done);

    // The same as invalidate(), completing on the caller's associated executor.
    template <class CompletionToken>
    auto async_invalidate(std::string device_id, CompletionToken&& token) {
        return boost::asio::async_initiate<CompletionToken, void()>(
            [this](auto handler, std::string id) {
                auto ex = boost::asio::get_associated_executor(handler, io_);
                auto shared = std::make_shared<decltype(handler)>(std::move(handler));
                invalidate(std::move(id), [ex, shared] { boost::asio::post(ex, [shared] { (*shared)(); }); });
            },
            token, std::move(device_id));
    }

    // Replaces the Intune settings (on reload). Keeps token and cache when they did not change.
    void reconfigure(const IntuneConfig& config);

    // True once a token was fetched (or failed): for /readyz. Empty before the first attempt.
    std::optional<bool> token_ok() const;

private:
    struct Impl;
    boost::asio::any_io_executor io_;
    std::shared_ptr<Impl> impl_;
};

}  // namespace ig
