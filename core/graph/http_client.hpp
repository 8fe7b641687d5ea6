#pragma once
// The core's one HTTPS client (login and Graph): verified TLS with SNI and host-name check,
// keep-alive connections pooled per origin, a deadline on every call, bounded response bodies.
// Not thread-safe: every call must come from the same strand (the compliance core's).
#include "core/graph/origin.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/verb.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ig {

using Clock = std::chrono::steady_clock;

struct HttpRequest {
    boost::beast::http::verb method = boost::beast::http::verb::get;
    Origin origin;  // https only, parsed once by the caller (parse_url or a configured origin)
    std::string target;  // origin-form: path and query, percent-encoded
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
};

struct HttpResponse {
    unsigned status = 0;
    std::string content_type;
    std::string retry_after;  // the raw header, empty when absent
    // Graph's diagnostic ids (response headers "request-id", "client-request-id"), printable ASCII, short.
    std::string request_id, client_request_id;
    std::string www_authenticate;  // the raw header (RFC 6750 error="invalid_token" marks a bad token)
    std::string body;
};

struct HttpResult {
    boost::beast::error_code ec;  // set when no complete HTTP answer arrived
    std::string where;  // which step failed: "resolve", "connect", "handshake", "write", "read", ...
    HttpResponse response;

    bool ok() const { return !ec; }
    std::string error_text() const;  // "read: stream truncated" (no URL, no secret)
};

struct HttpClientOptions {
    std::optional<std::filesystem::path> ca_file;  // added to the system trust store
    std::size_t body_limit = 8 * 1024 * 1024;
    std::size_t max_idle_per_origin = 16;
    // Requests in flight to one origin at most (intune.max_graph_connections): the others wait in
    // line, within their own deadline, so a burst of lookups cannot open a connection each.
    std::size_t max_per_origin = 16;
};

class HttpClient {
public:
    explicit HttpClient(HttpClientOptions options);
    ~HttpClient();
    HttpClient(const HttpClient&) = delete;
    HttpClient& operator=(const HttpClient&) = delete;

    // One request/response. A pooled connection that fails before any response byte is retried
    // once on a fresh one. Never runs past deadline.
    boost::asio::awaitable<HttpResult> request(HttpRequest req, Clock::time_point deadline);

    std::size_t idle_connections() const;
    std::uint64_t connections_opened() const { return opened_; }
    std::size_t peak_in_flight() const;  // the most requests in flight to one origin at once
    void close_idle();

private:
    struct Connection;
    boost::asio::awaitable<std::unique_ptr<Connection>> connect(const std::string& host, std::uint16_t port,
                                                                Clock::time_point deadline, HttpResult& result);

    struct State;
    std::unique_ptr<State> state_;
    std::uint64_t opened_ = 0;
};

}  // namespace ig
