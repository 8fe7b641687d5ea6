#include "core/graph/graph_client.hpp"

#include "core/graph/entra_lookup.hpp"
#include "core/graph/odata_pager.hpp"
#include "core/graph/retry.hpp"
#include "core/text/log.hpp"
#include "core/text/outside_json.hpp"
#include "core/text/text.hpp"

#include <boost/url/url.hpp>

#include <algorithm>
#include <cctype>

namespace ig {
namespace net = boost::asio;
namespace urls = boost::urls;

namespace {

std::string json_string(const nlohmann::json& obj, const char* key) {
    auto it = obj.find(key);
    return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

}  // namespace

std::string client_request_id_for(std::string_view id) {
    if (id.size() != 32 || !std::all_of(id.begin(), id.end(), [](unsigned char c) { return std::isxdigit(c); }))
        return {};
    std::string out;
    for (std::size_t i = 0; i < 32; ++i) {
        if (i == 8 || i == 12 || i == 16 || i == 20) out += '-';
        out += static_cast<char>(std::tolower(static_cast<unsigned char>(id[i])));
    }
    return out;
}

ParsedUrl parse_next_link(std::string_view link, const Origin& graph) {
    auto next = parse_url(link, {.fragment_allowed = true});
    if (next.error.empty() && !next.origin.same_as(graph)) next.error = "is on another origin than graph_url";
    return next;
}

void add_apps(const nlohmann::json& value, nlohmann::json& apps) {
    for (const auto& app : value) {
        if (!app.is_object()) continue;
        apps.push_back({{"displayName", json_string(app, "displayName")},
                        {"version", json_string(app, "version")},
                        {"publisher", json_string(app, "publisher")}});
    }
}

GraphClient::GraphClient(HttpClient& http, TokenSource& tokens, const IntuneConfig& config, CoreMetrics& metrics,
                         GraphHold* hold)
    : http_(http), tokens_(tokens), hold_(hold ? *hold : own_hold_), config_(config), metrics_(metrics) {
    auto graph = parse_url(config.graph_url);
    if (graph.error.empty())
        graph_ = std::move(graph.origin);
    else
        url_error_ = "graph_url " + graph.error;
}

urls::url GraphClient::device_link(const std::string& device_id) const {
    auto u = graph_.url({"v1.0", "deviceManagement", "managedDevices", device_id});
    if (auto select = selected(); !select.empty()) u.params().append({"$select", select});
    return u;
}

std::string GraphClient::device_url(const std::string& device_id) const {
    return std::string(device_link(device_id).buffer());
}

// "" for all properties, else the comma-separated list for $select.
std::string GraphClient::selected() const {
    if (config_.save_device_properties && config_.device_properties.empty()) return {};
    std::vector<std::string> select{"id", "complianceState", "managementAgent"};
    // Which Entra device a synced verdict also answers for, and the filter answer's guard.
    if (config_.lookup != DeviceLookup::Intune || config_.sync.interval.count() > 0)
        select.emplace_back("azureADDeviceId");
    if (config_.save_device_properties)
        for (auto& p : config_.device_properties)
            if (std::find(select.begin(), select.end(), p) == select.end()) select.push_back(p);
    for (auto p : fact_properties(config_.facts))
        if (std::find(select.begin(), select.end(), p) == select.end()) select.emplace_back(p);
    std::string list;
    for (auto& s : select) list += (list.empty() ? "" : ",") + s;
    return list;
}

ParsedUrl GraphClient::list_page(std::size_t page_size) const {
    auto u = graph_.url({"v1.0", "deviceManagement", "managedDevices"});
    if (auto select = selected(); !select.empty()) u.params().append({"$select", select});
    u.params().append({"$top", std::to_string(page_size)});
    return ParsedUrl{graph_, std::string(u.encoded_target()), {}};
}

ParsedUrl GraphClient::changes_page(std::size_t page_size, const std::string& since) const {
    auto u = graph_.url({"v1.0", "deviceManagement", "managedDevices"});
    u.params().append({"$filter", "lastSyncDateTime gt " + since});
    if (auto select = selected(); !select.empty()) {
        if (("," + select + ",").find(",lastSyncDateTime,") == std::string::npos) select += ",lastSyncDateTime";
        u.params().append({"$select", select});
    }
    u.params().append({"$top", std::to_string(page_size)});
    return ParsedUrl{graph_, std::string(u.encoded_target()), {}};
}

urls::url GraphClient::entra_link(const std::string& entra_id) const {
    auto u = graph_.url({"v1.0", "deviceManagement", "managedDevices"});
    u.params().append({"$filter", entra_filter(entra_id)});
    if (auto select = selected(); !select.empty()) u.params().append({"$select", select});
    return u;
}

net::awaitable<GraphReply> GraphClient::get_by_entra_id(const std::string& entra_id, Clock::time_point deadline,
                                                        const std::string& request_id) {
    co_return co_await get(graph_, std::string(entra_link(entra_id).encoded_target()), deadline,
                           client_request_id_for(request_id));
}

net::awaitable<GraphReply> GraphClient::get_page(const ParsedUrl& page, Clock::time_point deadline,
                                                 const std::string& client_request_id) {
    co_return co_await get(page.origin, page.target, deadline, client_request_id);
}

urls::url GraphClient::apps_link(const std::string& device_id) const {
    return graph_.url({"beta", "deviceManagement", "managedDevices", device_id, "detectedApps"});
}

std::string GraphClient::apps_url(const std::string& device_id) const {
    return std::string(apps_link(device_id).buffer());
}

net::awaitable<GraphReply> GraphClient::get(Origin origin, std::string target, Clock::time_point deadline,
                                            const std::string& client_request_id) {
    GraphReply reply;
    if (!url_error_.empty()) {
        reply.error = url_error_;
        co_return reply;
    }
    if (const auto now = Clock::now(); now < hold_.until) {
        const auto left = std::chrono::ceil<std::chrono::seconds>(hold_.until - now).count();
        reply.error = hold_.reason + "; not asking again for " + std::to_string(left) + " s";
        metrics_.graph_held.inc();
        co_return reply;
    }
    for (int round = 0; round < 2; ++round) {
        auto token = co_await tokens_.get(deadline);
        if (!token.ok) {
            reply.kind = GraphReply::Kind::TokenFailed;
            reply.error = token.error;
            co_return reply;
        }
        HttpRequest req;
        req.origin = origin;
        req.target = target;
        req.headers = {{"Authorization", "Bearer " + token.token}, {"Accept", "application/json"}};
        // One ID follows a login across the gateway's log and Microsoft's (support asks for it).
        if (!client_request_id.empty()) req.headers.emplace_back("client-request-id", client_request_id);
        auto res = co_await request_with_retries(http_, req, deadline, {}, [this](const HttpResult& r, double secs) {
            metrics_.count_graph_call(r.ok() ? r.response.status : 0);
            metrics_.graph_latency.observe(secs);
        });
        note_backoff(res);
        if (!res.ok()) {
            reply.kind = GraphReply::Kind::Unreachable;
            reply.error = res.ec == boost::beast::error::timeout ? "graph request timed out"
                                                                 : "graph unreachable: " + one_line(res.error_text());
            co_return reply;
        }
        reply.kind = GraphReply::Kind::Answered;
        reply.status = res.response.status;
        reply.body = std::move(res.response.body);
        reply.request_id = std::move(res.response.request_id);
        reply.client_request_id = std::move(res.response.client_request_id);
        // An expired or revoked token: get a new one and try exactly once more. Any other 401
        // (Intune's missing permission or role) would get the same answer with a new token.
        if (reply.status == 401 && round == 0) {
            auto e = parse_odata_error(reply.body);
            const bool bad_token = (e && is_invalid_token(reply.status, *e)) ||
                                   res.response.www_authenticate.find("invalid_token") != std::string::npos;
            if (bad_token && tokens_.invalidate(token.token)) continue;
        }
        co_return reply;
    }
    co_return reply;
}

void GraphClient::note_backoff(const HttpResult& res) {
    // A Retry-After of 0 (or none) after the retries of a request have all failed is still an
    // outage: a few seconds then. Never longer than five minutes, whatever Graph says.
    constexpr auto default_hold = std::chrono::seconds(5);
    constexpr auto max_hold = std::chrono::minutes(5);
    if (!res.ok() || !retryable_status(res.response.status)) return;
    std::chrono::milliseconds wait = parse_retry_after(res.response.retry_after).value_or(default_hold);
    if (wait <= std::chrono::milliseconds::zero()) wait = default_hold;
    wait = std::min<std::chrono::milliseconds>(wait, max_hold);
    const auto until = Clock::now() + wait;
    if (until <= hold_.until) return;
    hold_.until = until;
    hold_.reason = "graph asked to back off (HTTP " + std::to_string(res.response.status) + ")";
    log::warn("graph asked to back off, failing lookups fast until then",
              {{"status", res.response.status}, {"hold_s", std::chrono::duration<double>(wait).count()}});
}

net::awaitable<GraphReply> GraphClient::get_device(const std::string& device_id, Clock::time_point deadline,
                                                   const std::string& request_id) {
    co_return co_await get(graph_, std::string(device_link(device_id).encoded_target()), deadline,
                           client_request_id_for(request_id));
}

net::awaitable<AppsReply> GraphClient::get_apps(const std::string& device_id, Clock::time_point deadline,
                                                const std::string& request_id) {
    AppsReply out;
    auto apps = nlohmann::json::array();
    PageRequest req{"detectedApps", ParsedUrl{graph_, std::string(apps_link(device_id).encoded_target()), {}},
                    max_app_pages, [deadline] { return deadline; }, client_request_id_for(request_id)};
    auto run = co_await read_pages(*this, std::move(req),
                                   [&](nlohmann::json& value, const PageRun&) { add_apps(value, apps); });
    out.pages = run.pages;
    if (!run.complete) {
        out.error = std::move(run.error);
        co_return out;
    }
    out.apps = std::move(apps);
    co_return out;
}

}  // namespace ig
