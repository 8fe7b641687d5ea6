#include "core/graph/retry.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <ctime>
#include <random>

namespace ig {
namespace net = boost::asio;

bool retryable_status(unsigned status) {
    return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

namespace {
constexpr auto max_retry_after = std::chrono::milliseconds(86'400'000);

// "120" or "2.128": digits, optionally a dot and more digits (no sign, no exponent).
std::optional<std::chrono::milliseconds> delta_seconds(std::string_view v) {
    const auto dot = v.find('.');
    const auto whole = v.substr(0, dot), frac = dot == std::string_view::npos ? std::string_view() : v.substr(dot + 1);
    auto digits = [](std::string_view s) {
        return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
    };
    if (whole.empty() || !digits(whole) || !digits(frac) || (dot != std::string_view::npos && frac.empty()))
        return std::nullopt;
    if (whole.size() > 6) return std::nullopt;  // more than a day anyway
    double secs = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), secs, std::chars_format::fixed);
    if (ec != std::errc{} || p != v.data() + v.size()) return std::nullopt;
    // Round up: never retry sooner than asked.
    auto ms = std::chrono::milliseconds(static_cast<long long>(std::ceil(secs * 1000.0)));
    if (ms > max_retry_after) return std::nullopt;
    return ms;
}

// IMF-fixdate, RFC 850 and asctime, the three forms RFC 9110 section 5.6.7 has recipients accept.
std::optional<std::chrono::system_clock::time_point> http_date(std::string_view v) {
    if (v.size() > 64) return std::nullopt;
    const std::string text(v);
    for (const char* format : {"%a, %d %b %Y %H:%M:%S GMT", "%A, %d-%b-%y %H:%M:%S GMT", "%a %b %e %H:%M:%S %Y"}) {
        std::tm tm{};
        const char* end = ::strptime(text.c_str(), format, &tm);
        if (!end || *end != '\0') continue;
        const std::time_t t = ::timegm(&tm);
        if (t == static_cast<std::time_t>(-1)) continue;
        return std::chrono::system_clock::from_time_t(t);
    }
    return std::nullopt;
}
}  // namespace

std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value,
                                                           std::chrono::system_clock::time_point now) {
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
    if (value.empty()) return std::nullopt;
    if (auto d = delta_seconds(value)) return d;
    auto when = http_date(value);
    if (!when) return std::nullopt;
    if (*when <= now) return std::chrono::milliseconds(0);
    auto wait = std::chrono::ceil<std::chrono::milliseconds>(*when - now);
    return wait > max_retry_after ? std::nullopt : std::optional(wait);
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
            // The service said how long to wait: never sooner than that (Graph counts early retries
            // against the client's quota).
            if (auto after = parse_retry_after(result.response.retry_after)) delay = *after;
        }
        if (now + delay >= deadline) co_return result;  // waiting would pass the deadline: give up now
        net::steady_timer timer(co_await net::this_coro::executor, delay);
        co_await timer.async_wait(net::as_tuple(net::use_awaitable));
    }
}

}  // namespace ig
