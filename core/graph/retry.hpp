#pragma once
// Retrying a call to login or Graph: connection failures, 429, 500, 502, 503, 504, with exponential
// backoff and jitter, honouring Retry-After, never past the deadline.
#include "core/graph/http_client.hpp"

#include <chrono>
#include <functional>
#include <optional>
#include <string_view>

namespace ig {

struct RetryPolicy {
    std::chrono::milliseconds base{100};
    std::chrono::milliseconds max_backoff{2000};
    int max_attempts = 6;
};

bool retryable_status(unsigned status);

// Retry-After as a wait: delta-seconds, also with a fraction ("2.128", as Graph's throttling
// documentation shows), or an HTTP-date (RFC 9110, all three date forms) taken relative to `now`
// (a date in the past is no wait). nullopt when absent or unparsable; at most one day.
std::optional<std::chrono::milliseconds> parse_retry_after(
    std::string_view value, std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

// Called after every attempt with its result and duration in seconds (for metrics).
using AttemptObserver = std::function<void(const HttpResult&, double)>;

boost::asio::awaitable<HttpResult> request_with_retries(HttpClient& http, const HttpRequest& req,
                                                        Clock::time_point deadline, const RetryPolicy& policy = {},
                                                        const AttemptObserver& observe = {});

}  // namespace ig
