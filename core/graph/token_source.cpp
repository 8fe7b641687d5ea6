#include "core/graph/token_source.hpp"

#include "core/graph/client_assertion.hpp"
#include "core/graph/form_encoding.hpp"
#include "core/graph/retry.hpp"
#include "core/text/log.hpp"
#include "core/text/outside_json.hpp"
#include "core/text/text.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/verb.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdlib>

namespace ig {
namespace net = boost::asio;

namespace {
constexpr std::string_view graph_scope = "https://graph.microsoft.com/.default";
constexpr auto refusal_hold = std::chrono::seconds(5);
constexpr long long min_token_lifetime_s = 10;  // see fetch()

// Entra ID writes error_description in two forms: one line ("AADSTS...: text Trace ID: t
// Correlation ID: c Timestamp: ts") and, older, the same parts separated by CR LF. The message is
// what comes before the first of those markers.
std::string message_without_ids(std::string_view text) {
    text = text.substr(0, text.find_first_of("\r\n"));
    for (std::string_view marker : {" Trace ID:", " Correlation ID:", " Timestamp:"})
        if (auto pos = text.find(marker); pos != std::string_view::npos) text = text.substr(0, pos);
    return one_line(text, 240);
}

// The value after "<marker>: " in error_description (either form), as a short id.
std::string id_after(std::string_view text, std::string_view marker) {
    auto pos = text.find(marker);
    if (pos == std::string_view::npos) return {};
    text.remove_prefix(pos + marker.size());
    while (!text.empty() && (text.front() == ':' || text.front() == ' ')) text.remove_prefix(1);
    return printable_ascii(text.substr(0, text.find_first_of(" \r\n")), 64);
}

std::string short_id(const nlohmann::json& doc, const char* key) {
    auto it = doc.find(key);
    return it != doc.end() && it->is_string() ? printable_ascii(it->get_ref<const std::string&>(), 64) : std::string();
}

// The token goes into an Authorization header: visible ASCII only, so it cannot smuggle in a header.
bool header_safe(const std::string& token) {
    return !token.empty() && token.size() <= 16384 &&
           std::all_of(token.begin(), token.end(), [](unsigned char c) { return c > 0x20 && c < 0x7f; });
}

}  // namespace

TokenSource::TokenSource(HttpClient& http, const IntuneConfig& config, CoreMetrics& metrics,
                         std::atomic<TokenState>& state)
    : http_(http), config_(config), metrics_(metrics), state_(state) {
    auto login = parse_url(config.login_url);
    if (!login.error.empty()) {
        url_error_ = "login_url " + login.error;
        return;
    }
    login_ = std::move(login.origin);
    const auto url = token_url(login_, config.tenant_id);
    token_url_ = std::string(url.buffer());
    token_target_ = std::string(url.encoded_target());
}

boost::urls::url TokenSource::token_url(const Origin& login, std::string_view tenant_id) {
    return login.url({tenant_id, "oauth2", "v2.0", "token"});
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
                                           token_url_, config_.assertion_algorithm);
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

TokenAnswer parse_token_answer(const std::string& body) {
    TokenAnswer answer;
    // A parse error's text is not used: the body may hold a token.
    auto parsed = parse_outside_json(body);
    const auto doc = std::move(parsed.doc).value_or(nlohmann::json());
    auto tok = doc.is_object() ? doc.find("access_token") : doc.end();
    if (!doc.is_object() || tok == doc.end() || !tok->is_string() || !header_safe(tok->get_ref<const std::string&>())) {
        answer.error = "the answer has no usable access_token";
        return answer;
    }
    answer.token = tok->get<std::string>();
    // Clamped before any conversion: 1e20 or 2^64 as a long long would be undefined behaviour.
    constexpr long long max_lifetime = 86400;
    if (auto e = doc.find("expires_in"); e != doc.end()) {
        if (e->is_number_unsigned())
            answer.expires_in = static_cast<long long>(std::min<std::uint64_t>(e->get<std::uint64_t>(), max_lifetime));
        else if (e->is_number_integer())
            answer.expires_in = e->get<long long>();
        else if (e->is_number_float())
            answer.expires_in = static_cast<long long>(std::clamp(e->get<double>(), 0.0, double(max_lifetime)));
        else if (e->is_string())  // strtoll saturates where atoll was undefined
            answer.expires_in = std::strtoll(e->get_ref<const std::string&>().c_str(), nullptr, 10);
    }
    answer.expires_in = std::clamp<long long>(answer.expires_in, 0, max_lifetime);
    return answer;
}

std::string TokenSource::scrubbed(std::string text) const {
    const auto enc_secret = form_encode({{"", config_.client_secret.value}}).substr(1);
    const auto enc_password = form_encode({{"", config_.password.value}}).substr(1);
    // Room for AADSTS's message (240) and its trace and correlation ids.
    return one_line(scrub(std::move(text), {config_.client_secret.value, config_.password.value, enc_secret,
                                            enc_password, last_assertion_, token_}),
                    480);
}

AadError parse_aad_error(const std::string& body) {
    AadError e;
    auto parsed = parse_outside_json(body);
    if (!parsed.doc || !parsed.doc->is_object()) return e;
    const auto& doc = *parsed.doc;
    auto err = doc.find("error");
    if (err == doc.end() || !err->is_string()) return e;
    e.error = one_line(err->get_ref<const std::string&>(), 60);
    std::string description;
    if (auto d = doc.find("error_description"); d != doc.end() && d->is_string()) description = d->get<std::string>();
    e.description = message_without_ids(description);
    // The v2.0 endpoint also has them as fields; the text is the fallback for older bodies.
    e.trace_id = short_id(doc, "trace_id");
    if (e.trace_id.empty()) e.trace_id = id_after(description, "Trace ID");
    e.correlation_id = short_id(doc, "correlation_id");
    if (e.correlation_id.empty()) e.correlation_id = id_after(description, "Correlation ID");
    return e;
}

std::string TokenSource::describe_refusal(unsigned status, const std::string& body) const {
    const auto e = parse_aad_error(body);
    if (e.error.empty()) return "token request refused: HTTP " + std::to_string(status);
    std::string text = "token request refused: " + e.error;
    if (!e.description.empty()) text += ": " + e.description;
    std::string ids;
    if (!e.trace_id.empty()) ids += "trace-id " + e.trace_id;
    if (!e.correlation_id.empty()) ids += (ids.empty() ? "" : ", ") + std::string("correlation-id ") + e.correlation_id;
    if (!ids.empty()) text += " (" + ids + ")";
    return scrubbed(std::move(text));
}

bool TokenSource::invalidate(std::string_view token) {
    if (token != token_) return true;  // replaced (or being replaced) already: try with the current one
    const auto now = Clock::now();
    if (last_forced_refresh_ && now - *last_forced_refresh_ < forced_refresh_interval) return false;
    last_forced_refresh_ = now;
    token_.clear();
    refresh_at_ = {};
    return true;
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
    req.origin = login_;
    req.target = token_target_;
    req.headers = {{"Content-Type", "application/x-www-form-urlencoded"}, {"Accept", "application/json"}};
    if (url_error_.empty())
        req.body = form_body(error);
    else
        error = "token request not sent: " + url_error_;
    if (!error.empty()) {
        metrics_.token_failures.inc();
        state_ = TokenState::Failing;
        out.error = one_line(error);
        log::error("token request failed", {{"reason", out.error}});
        co_return out;
    }

    auto res = co_await request_with_retries(http_, req, deadline, {},
                                             [this](const HttpResult&, double) { metrics_.token_fetches.inc(); });
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
        auto answer = parse_token_answer(res.response.body);
        if (!answer.error.empty()) {
            out.error = "token request failed: " + answer.error;
        } else {
            // A lifetime under 10 s (expires_in 0, missing or tiny) is taken as 10 s:
            // otherwise every lookup would fetch a new token (issue 26). A token Graph refuses
            // before then is fetched again anyway (InvalidAuthenticationToken).
            const long long expires_in = std::max(answer.expires_in, min_token_lifetime_s);
            if (answer.expires_in < min_token_lifetime_s)
                log::warn("token lifetime under 10 s, kept for 10 s",
                          {{"expires_in", answer.expires_in}, {"kept_s", min_token_lifetime_s}});
            // Refresh early: 10% of the lifetime, at most five minutes.
            const auto margin = std::min<long long>(300'000, expires_in * 100);
            token_ = std::move(answer.token);
            refusal_.clear();
            refresh_at_ = Clock::now() + std::chrono::milliseconds(expires_in * 1000 - margin);
            state_ = TokenState::Ok;
            out.ok = true;
            out.token = token_;
            log::info("token fetched", {{"expires_in", expires_in}});
            co_return out;
        }
    }
    metrics_.token_failures.inc();
    state_ = TokenState::Failing;
    log::error("token request failed", {{"reason", out.error}});
    co_return out;
}

}  // namespace ig
