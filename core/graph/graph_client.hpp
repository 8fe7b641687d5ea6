#pragma once
// Reads a managed device and its detected apps from Microsoft Graph with a token from TokenSource.
// A 401 InvalidAuthenticationToken drops the token and retries once with a new one (rate-limited by
// TokenSource); Intune's permission 401 does not. Transient failures are retried (retry.hpp).
// Call only from the HttpClient's strand.
#include "core/config/config.hpp"
#include "core/graph/graph_reply.hpp"
#include "core/graph/http_client.hpp"
#include "core/graph/origin.hpp"
#include "core/graph/token_source.hpp"
#include "core/verdict/metrics.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/url/url.hpp>
#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace ig {

// The client-request-id Graph gets for a gateway request: X-Request-Id's 32 hex digits written as
// a GUID (Graph wants a GUID); empty when request_id is not 32 hex digits (then none is sent).
std::string client_request_id_for(std::string_view request_id);

// The items of one detectedApps page, each as {displayName, version, publisher} (strings), appended
// to `apps`; items that are not objects are left out.
void add_apps(const nlohmann::json& value, nlohmann::json& apps);

// An @odata.nextLink from a Graph answer, parsed as a link from outside (a fragment is dropped).
// error is set unless it is an https URL on graph's origin (same_as()): following a link
// elsewhere would hand the token to another host. On success origin.same_as(graph) holds and target
// is the origin-form to request there.
ParsedUrl parse_next_link(std::string_view link, const Origin& graph);

struct AppsReply {
    std::optional<nlohmann::json> apps;  // array of {displayName, version, publisher}; nullopt on failure
    std::string error;
    int pages = 0;
};

// Graph said to back off (429, or 5xx after the retries of one request): until `until`, every
// request fails at once instead of asking again (issue 26 #10). Shared by the clients of one
// connection to Graph, so a reload that keeps the connection keeps the back-off.
struct GraphHold {
    Clock::time_point until{};
    std::string reason;
};

class GraphClient {
public:
    static constexpr int max_app_pages = 50;

    // hold: shared with other clients of the same connection; the client's own when null.
    GraphClient(HttpClient& http, TokenSource& tokens, const IntuneConfig& config, CoreMetrics& metrics,
                GraphHold* hold = nullptr);

    std::string device_url(const std::string& device_id) const;
    std::string apps_url(const std::string& device_id) const;
    // The first page of the device list: $select as for one device, $top=page_size.
    ParsedUrl list_page(std::size_t page_size) const;
    // The first page of the changes sync: the list's $select plus lastSyncDateTime,
    // $filter=lastSyncDateTime gt <since> (an ISO-8601 UTC time, changes_sync.hpp).
    ParsedUrl changes_page(std::size_t page_size, const std::string& since) const;
    // graph_url, parsed: the origin every link must be on.
    const Origin& origin() const { return graph_; }

    // request_id: the gateway request's X-Request-Id, sent as client-request-id (may be empty).
    boost::asio::awaitable<GraphReply> get_device(const std::string& device_id, Clock::time_point deadline,
                                                  const std::string& request_id = {});
    // The filter answer as Graph gave it; entra_lookup.hpp decides what it means.
    boost::asio::awaitable<GraphReply> get_by_entra_id(const std::string& entra_id, Clock::time_point deadline,
                                                       const std::string& request_id = {});
    boost::asio::awaitable<AppsReply> get_apps(const std::string& device_id, Clock::time_point deadline,
                                               const std::string& request_id = {});
    // One page of a collection: list_page(), apps' first page or an @odata.nextLink that
    // parse_next_link() accepted (odata_pager.hpp reads them all).
    boost::asio::awaitable<GraphReply> get_page(const ParsedUrl& page, Clock::time_point deadline,
                                                const std::string& client_request_id = {});

    void count_apps_failure() { metrics_.apps_failures.inc(); }

private:
    std::string selected() const;  // the $select list; empty: all properties
    boost::urls::url device_link(const std::string& device_id) const;
    boost::urls::url apps_link(const std::string& device_id) const;
    boost::urls::url entra_link(const std::string& entra_id) const;
    // origin and target are copied into the coroutine frame.
    boost::asio::awaitable<GraphReply> get(Origin origin, std::string target, Clock::time_point deadline,
                                           const std::string& client_request_id);

    void note_backoff(const HttpResult& res);  // sets the hold (docs/hostile-clients.md, "The Graph budget")

    HttpClient& http_;
    TokenSource& tokens_;
    GraphHold own_hold_;
    GraphHold& hold_;
    IntuneConfig config_;
    CoreMetrics& metrics_;
    Origin graph_;  // graph_url, parsed once
    std::string url_error_;  // graph_url is not an https URL (only a configuration built in code can say so)
};

}  // namespace ig
