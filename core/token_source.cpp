#include "core/token_source.hpp"

#include "core/client_assertion.hpp"
#include "core/form_encoding.hpp"
#include "core/log.hpp"
#include "core/retry.hpp"
#include "core/text.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/verb.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdlib>

namespace ig {
namespace net = boost::asio;

namespace {
constexpr std::string_view graph_scope = "https://graph.microsoft.com/.default";
constexpr auto refusal_hold = std::chrono::seconds(5);

// AAD's error_description is several lines: the first is the message, then "Trace ID: ...", etc.
std::string first_line_without_ids(std::string_view text) {
    text = text.substr(0, text.find_first_of("\r\n"));
    for (std::string_view marker : {" Trace ID:", " Correlation ID:", " Timestamp:"})
        if (auto pos = text.find(marker); pos != std::string_view::npos) text = text.substr(0, pos);
    return one_line(text, 240);
}

// The token goes into an Authorization header: visible ASCII only, so it cannot smuggle in a header.
bool header_safe(const std::string& token) {
    return !token.empty() && token.size() <= 16384 &&
           std::all_of(token.begin(), token.end(), [](unsigned char c) { return c > 0x20 && c < 0x7f; });
}

std::string trim_slash(std::string s) {
    while (!s.empty() && s.back() == '/') s.pop_back();
    return s;
}
}  // namespace

TokenSource::TokenSource(HttpClient& http, const IntuneConfig& config, CoreMetrics& metrics, std::atomic<int>& state)
    : http_(http), config_(config), metrics_(metrics), state_(state) {}

std::string TokenSource::token_url(const IntuneConfig& config) {
    return trim_slash(config.login_url) + '/' + config.tenant_id + "/oauth2/v2.0/token";
}

std::string TokenSource::form_body(std::string& error) const {
    FormFields f{{"client_id", config_.client_id}, {"scope", std::string(graph_scope)}};
    switch (config_.auth) {
    case AuthMode::ClientSecret:
        f.emplace_back("grant_type", "client_credentials");
        f.emplace_back("client_secret", config_.client_secret.value);
        break;
    case AuthMode::Certificate: {
        auto a = make_client_assertion(config_.client_certificate, config_.client_private_key, config_.client_id,
                                       token_url(config_));
        if (a.jwt.empty()) {
            error = "token request not sent: " + a.error;
            return {};
        }
        last_assertion_ = a.jwt;
        f.emplace_back("grant_type", "client_credentials");
        f.emplace_back("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
        f.emplace_back("client_assertion", std::move(a.jwt));
        break;
    }
    case AuthMode::Password:
        f.emplace_back("grant_type", "password");
        f.emplace_back("client_secret", config_.client_secret.value);
        f.emplace_back("username", config_.username);
        f.emplace_back("password", config_.password.value);
        break;
    }
    return form_encode(f);
}

std::string TokenSource::scrubbed(std::string text) const {
    const auto enc_secret = form_encode({{"", config_.client_secret.value}}).substr(1);
    const auto enc_password = form_encode({{"", config_.password.value}}).substr(1);
    return one_line(scrub(std::move(text), {config_.client_secret.value, config_.password.value, enc_secret,
                                            enc_password, last_assertion_, token_}));
}

std::string TokenSource::describe_refusal(unsigned status, const std::string& body) const {
    auto doc = nlohmann::json::parse(body, nullptr, false);
    if (doc.is_object() && doc.contains("error") && doc["error"].is_string()) {
        std::string text = "token request refused: " + one_line(doc["error"].get<std::string>(), 60);
        if (auto d = doc.find("error_description"); d != doc.end() && d->is_string())
            text += ": " + first_line_without_ids(d->get<std::string>());
        return scrubbed(std::move(text));
    }
    return "token request refused: HTTP " + std::to_string(status);
}

void TokenSource::invalidate(std::string_view token) {
    if (!token_.empty() && token == token_) {
        token_.clear();
        refresh_at_ = {};
    }
}

net::awaitable<TokenResult> TokenSource::get(Clock::time_point deadline) {
    if (!token_.empty() && Clock::now() < refresh_at_) co_return TokenResult{true, token_, {}};
    // Refused credentials stay refused for a while: don't turn every login into a token request.
    if (!refusal_.empty() && Clock::now() < refused_until_) co_return TokenResult{false, {}, refusal_};
    if (auto flight = flight_) {
        co_await flight->done.async_wait(net::as_tuple(net::use_awaitable));
        if (flight->result) co_return *flight->result;
        co_return TokenResult{false, {}, "token request abandoned"};
    }
    auto flight = std::make_shared<Flight>(co_await net::this_coro::executor);
    flight_ = flight;
    auto result = co_await fetch(deadline);
    flight->result = result;
    flight_.reset();
    flight->done.cancel();
    co_return result;
}

net::awaitable<TokenResult> TokenSource::fetch(Clock::time_point deadline) {
    TokenResult out;
    std::string error;
    HttpRequest req;
    req.method = boost::beast::http::verb::post;
    req.url = token_url(config_);
    req.headers = {{"Content-Type", "application/x-www-form-urlencoded"}, {"Accept", "application/json"}};
    req.body = form_body(error);
    if (!error.empty()) {
        metrics_.token_failures.inc();
        state_ = 0;
        out.error = one_line(error);
        log::error("token request failed", {{"reason", out.error}});
        co_return out;
    }

    auto res = co_await request_with_retries(http_, req, deadline, {}, [this](const HttpResult&, double) {
        metrics_.token_fetches.inc();
    });
    last_assertion_.clear();

    if (!res.ok()) {
        out.error = "token request failed: " + scrubbed(res.error_text());
    } else if (res.response.status != 200) {
        out.error = describe_refusal(res.response.status, res.response.body);
        if (res.response.status >= 400 && res.response.status < 500) {
            refusal_ = out.error;
            refused_until_ = Clock::now() + refusal_hold;
        }
    } else {
        auto doc = nlohmann::json::parse(res.response.body, nullptr, false);
        auto tok = doc.is_object() ? doc.find("access_token") : doc.end();
        if (!doc.is_object() || tok == doc.end() || !tok->is_string() || !header_safe(tok->get_ref<const std::string&>())) {
            out.error = "token request failed: the answer has no usable access_token";
        } else {
            long long expires_in = 3600;
            if (auto e = doc.find("expires_in"); e != doc.end()) {
                if (e->is_number()) expires_in = e->get<long long>();
                else if (e->is_string()) expires_in = std::atoll(e->get_ref<const std::string&>().c_str());
            }
            expires_in = std::clamp<long long>(expires_in, 0, 86400);
            // Refresh early: 10% of the lifetime, at most five minutes.
            const auto margin = std::min<long long>(300'000, expires_in * 100);
            token_ = tok->get<std::string>();
            refusal_.clear();
            refresh_at_ = Clock::now() + std::chrono::milliseconds(expires_in * 1000 - margin);
            state_ = 1;
            out.ok = true;
            out.token = token_;
            log::info("token fetched", {{"expires_in", expires_in}});
            co_return out;
        }
    }
    metrics_.token_failures.inc();
    state_ = 0;
    log::error("token request failed", {{"reason", out.error}});
    co_return out;
}

}  // namespace ig
