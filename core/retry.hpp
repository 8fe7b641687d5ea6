#pragma once
// Retrying a call to login or Graph: connection failures, 429, 500, 502, 503, 504, with exponential
// backoff and jitter, honouring Retry-After, never past the deadline.
#include "core/http_client.hpp"

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

// Retry-After in delta-seconds (the form Graph and AAD use); nullopt when absent or unparsable.
std::optional<std::chrono::seconds> parse_retry_after(std::string_view value);

// Called after every attempt with its result and duration in seconds (for metrics).
using AttemptObserver = std::function<void(const HttpResult&, double)>;

boost::asio::awaitable<HttpResult> request_with_retries(HttpClient& http, const HttpRequest& req,
                                                        Clock::time_point deadline, const RetryPolicy& policy = {},
                                                        const AttemptObserver& observe = {});

}  // namespace ig
