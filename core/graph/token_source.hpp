#pragma once
// Access tokens for Graph from the Microsoft identity platform v2.0 token endpoint (docs/configuration.md: `intune`):
// client_secret, certificate (JWT client assertion) and password grants; cached until shortly
// before expires_in; concurrent misses share one request. Call only from the HttpClient's strand.
#include "core/config/config.hpp"
#include "core/graph/http_client.hpp"
#include "core/graph/origin.hpp"
#include "core/verdict/metrics.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace ig {

struct TokenResult {
    bool ok = false;
    std::string token;  // never logged
    // One line, e.g. "token request refused: invalid_client: AADSTS7000215: ... (trace-id T, correlation-id C)":
    // Entra ID's Trace ID and Correlation ID stay in it, Microsoft support asks for them.
    std::string error;
};

// The parts of an Entra ID token-endpoint error body: {"error", "error_description", "trace_id",
// "correlation_id", ...}. Empty error when the body is not one.
struct AadError {
    std::string error, description, trace_id, correlation_id;  // sanitised, one line each
};
AadError parse_aad_error(const std::string& body);

// The token endpoint's 200 answer: {"access_token", "expires_in" (a number, or a number in a
// string), ...}. expires_in is clamped to [0, 86400] (3600 when absent); error is set (without
// quoting the body) when there is no access_token usable in an Authorization header.
struct TokenAnswer {
    std::string token;
    long long expires_in = 3600;
    std::string error;
};
TokenAnswer parse_token_answer(const std::string& body);

// Whether the gateway can get a token (for /readyz and intune_gate_token_ok): Unknown until the first
// attempt, then the result of the latest one. Shared with the compliance service as an atomic, read
// from any thread.
enum class TokenState { Unknown, Ok, Failing };

class TokenSource {
public:
    TokenSource(HttpClient& http, const IntuneConfig& config, CoreMetrics& metrics, std::atomic<TokenState>& state);

    boost::asio::awaitable<TokenResult> get(Clock::time_point deadline);

    // Graph said this token is invalid or expired (InvalidAuthenticationToken). Returns whether a
    // retry makes sense: true when a newer token replaced it already, or when it was dropped so the
    // next get() fetches a new one. A token is dropped at most once per forced_refresh_interval for
    // the whole process: a Graph that refuses every token must not turn each lookup into a login.
    bool invalidate(std::string_view token);
    static constexpr std::chrono::seconds forced_refresh_interval{30};

    // {login_url}/{tenant_id}/oauth2/v2.0/token; the tenant ID is one path segment, percent-encoded.
    static boost::urls::url token_url(const Origin& login, std::string_view tenant_id);

private:
    // The URL-encoded body of one token request; sets error (and returns "") when it cannot be built.
    std::string form_body(std::string& error) const;
    boost::asio::awaitable<TokenResult> fetch(Clock::time_point deadline);
    std::string describe_refusal(unsigned status, const std::string& body) const;
    std::string scrubbed(std::string text) const;

    struct Flight {
        explicit Flight(const boost::asio::any_io_executor& ex) : done(ex, Clock::time_point::max()) {}
        boost::asio::steady_timer done;
        std::optional<TokenResult> result;
    };

    HttpClient& http_;
    IntuneConfig config_;
    Origin login_;  // login_url, parsed once
    std::string token_url_, token_target_;  // built once; the URL is also the client assertion's audience
    std::string url_error_;  // login_url is not an https URL (only a configuration built in code can say so)
    CoreMetrics& metrics_;
    std::atomic<TokenState>& state_;
    std::string token_;
    Clock::time_point refresh_at_{};
    std::optional<Clock::time_point> last_forced_refresh_;
    std::string refusal_;  // the last 4xx refusal, answered again until refused_until_
    Clock::time_point refused_until_{};
    std::shared_ptr<Flight> flight_;
    mutable std::string last_assertion_;  // scrubbed from error text, like the secrets
};

}  // namespace ig
