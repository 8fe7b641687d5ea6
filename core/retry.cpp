#include "core/retry.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>

#include <algorithm>
#include <charconv>
#include <random>

namespace ig {
namespace net = boost::asio;

bool retryable_status(unsigned status) {
    return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

std::optional<std::chrono::seconds> parse_retry_after(std::string_view value) {
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
    unsigned long long n = 0;
    auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (value.empty() || ec != std::errc{} || p != value.data() + value.size() || n > 86400) return std::nullopt;
    return std::chrono::seconds(n);
}

namespace {
std::chrono::milliseconds backoff(const RetryPolicy& policy, int attempt) {
    thread_local std::mt19937 rng{std::random_device{}()};
    auto cap = policy.base * (1LL << std::min(attempt, 16));
    cap = std::min<std::chrono::milliseconds>(cap, policy.max_backoff);
    // "equal jitter": at least half the step, so retries still spread out under load.
    std::uniform_int_distribution<long long> dist(cap.count() / 2, cap.count());
    return std::chrono::milliseconds(dist(rng));
}
// A timeout has used up the deadline; a bad URL or a certificate that does not verify will not get better.
bool transient(const boost::beast::error_code& ec) {
    return ec != boost::beast::error::timeout && ec != net::error::invalid_argument &&
           ec.category() != net::error::get_ssl_category();
}
}  // namespace

net::awaitable<HttpResult> request_with_retries(HttpClient& http, const HttpRequest& req, Clock::time_point deadline,
                                                const RetryPolicy& policy, const AttemptObserver& observe) {
    for (int attempt = 0;; ++attempt) {
        const auto start = Clock::now();
        auto result = co_await http.request(req, deadline);
        const auto now = Clock::now();
        if (observe) observe(result, std::chrono::duration<double>(now - start).count());

        const bool retry = result.ec ? transient(result.ec) : retryable_status(result.response.status);
        if (!retry || attempt + 1 >= policy.max_attempts || now >= deadline) co_return result;

        std::chrono::milliseconds delay = backoff(policy, attempt);
        if (!result.ec) {
            if (auto after = parse_retry_after(result.response.retry_after)) delay = *after;
        }
        if (now + delay >= deadline) co_return result;  // waiting would pass the deadline: give up now
        net::steady_timer timer(co_await net::this_coro::executor, delay);
        co_await timer.async_wait(net::as_tuple(net::use_awaitable));
    }
}

}  // namespace ig
