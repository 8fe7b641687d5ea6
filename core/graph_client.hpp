#pragma once
// Reads a managed device and its detected apps from Microsoft Graph with a token from TokenSource.
// A 401 drops the token and retries once with a new one; transient failures are retried (retry.hpp).
// Call only from the HttpClient's strand.
#include "core/config.hpp"
#include "core/http_client.hpp"
#include "core/metrics.hpp"
#include "core/token_source.hpp"

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace ig {

// What came back for one Graph read, before any interpretation (that is decision.hpp's job).
struct GraphReply {
    enum class Kind { Answered, TokenFailed, Unreachable };
    Kind kind = Kind::Unreachable;
    unsigned status = 0;  // Answered: the final HTTP status
    std::string body;     // Answered
    std::string error;    // TokenFailed / Unreachable: one line, no secret
};

// An OData error body: {"error":{"code","message","innerError":{"request-id"}}}.
struct ODataError {
    std::string code, message, request_id;  // sanitised
};
std::optional<ODataError> parse_odata_error(const std::string& body);

struct AppsReply {
    std::optional<nlohmann::json> apps;  // array of {displayName, version, publisher}; nullopt on failure
    std::string error;
    int pages = 0;
};

class GraphClient {
public:
    static constexpr int max_app_pages = 50;

    GraphClient(HttpClient& http, TokenSource& tokens, const IntuneConfig& config, CoreMetrics& metrics);

    std::string device_url(const std::string& device_id) const;
    std::string apps_url(const std::string& device_id) const;

    boost::asio::awaitable<GraphReply> get_device(const std::string& device_id, Clock::time_point deadline);
    boost::asio::awaitable<AppsReply> get_apps(const std::string& device_id, Clock::time_point deadline);

    // Whether url has the same scheme, host and port as graph_url (nextLinks elsewhere are not followed).
    bool same_origin(const std::string& url) const;

    void count_apps_failure() { metrics_.apps_failures.inc(); }

private:
    boost::asio::awaitable<GraphReply> get(const std::string& url, Clock::time_point deadline);

    HttpClient& http_;
    TokenSource& tokens_;
    IntuneConfig config_;
    CoreMetrics& metrics_;
    std::string graph_origin_;
};

}  // namespace ig
