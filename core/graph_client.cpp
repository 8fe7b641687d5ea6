#include "core/graph_client.hpp"

#include "core/log.hpp"
#include "core/outside_json.hpp"
#include "core/retry.hpp"
#include "core/text.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include <algorithm>
#include <cctype>

namespace ig {
namespace net = boost::asio;
namespace urls = boost::urls;

namespace {

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

// "https://host:port" with the default port made explicit, lower case; empty if not a URL.
std::string origin_of(std::string_view url) {
    auto u = urls::parse_uri(url);
    if (!u || !u->has_authority()) return {};
    std::string port = u->has_port() ? std::string(u->port()) : std::string();
    if (port.empty())
        port = u->scheme_id() == urls::scheme::https ? "443" : u->scheme_id() == urls::scheme::http ? "80" : "";
    return lower(std::string(u->scheme())) + "://" + lower(std::string(u->encoded_host())) + ':' + port;
}

std::string trim_slash(std::string s) {
    while (!s.empty() && s.back() == '/') s.pop_back();
    return s;
}

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

AppsPage read_apps_page(const std::string& body, nlohmann::json& apps) {
    AppsPage page;
    auto parsed = parse_outside_json(body);
    if (!parsed.doc) {
        page.error = "detectedApps: " + parsed.error;
        return page;
    }
    const auto& doc = *parsed.doc;
    auto value = doc.is_object() ? doc.find("value") : doc.end();
    if (!doc.is_object() || value == doc.end() || !value->is_array()) {
        page.error = "detectedApps: the answer is not an OData collection";
        return page;
    }
    for (auto& app : *value) {
        if (!app.is_object()) continue;
        apps.push_back({{"displayName", json_string(app, "displayName")},
                        {"version", json_string(app, "version")},
                        {"publisher", json_string(app, "publisher")}});
    }
    page.next_link = json_string(doc, "@odata.nextLink");
    return page;
}

GraphClient::GraphClient(HttpClient& http, TokenSource& tokens, const IntuneConfig& config, CoreMetrics& metrics)
    : http_(http), tokens_(tokens), config_(config), metrics_(metrics), graph_origin_(origin_of(config.graph_url)) {}

std::string GraphClient::device_url(const std::string& device_id) const {
    urls::url u = urls::parse_uri(trim_slash(config_.graph_url)).value();
    u.set_encoded_path(std::string(u.encoded_path()) + "/v1.0/deviceManagement/managedDevices");
    u.segments().push_back(device_id);  // percent-encodes anything unexpected
    if (auto select = selected(); !select.empty()) {
        std::string list;
        for (auto& s : select) list += (list.empty() ? "" : ",") + s;
        u.params().append({"$select", list});
    }
    return std::string(u.buffer());
}

std::vector<std::string> GraphClient::selected() const {
    std::vector<std::string> select{"id", "complianceState", "managementAgent"};
    if (config_.save_device_properties && config_.device_properties.empty()) return {};
    if (config_.save_device_properties)
        for (auto& p : config_.device_properties)
            if (std::find(select.begin(), select.end(), p) == select.end()) select.push_back(p);
    return select;
}

std::string GraphClient::list_url(std::size_t page_size) const {
    urls::url u = urls::parse_uri(trim_slash(config_.graph_url)).value();
    u.set_encoded_path(std::string(u.encoded_path()) + "/v1.0/deviceManagement/managedDevices");
    if (auto select = selected(); !select.empty()) {
        std::string list;
        for (auto& s : select) list += (list.empty() ? "" : ",") + s;
        u.params().append({"$select", list});
    }
    u.params().append({"$top", std::to_string(page_size)});
    return std::string(u.buffer());
}

net::awaitable<GraphReply> GraphClient::get_page(const std::string& url, Clock::time_point deadline) {
    co_return co_await get(url, deadline, {});
}

std::string GraphClient::apps_url(const std::string& device_id) const {
    urls::url u = urls::parse_uri(trim_slash(config_.graph_url)).value();
    u.set_encoded_path(std::string(u.encoded_path()) + "/beta/deviceManagement/managedDevices");
    u.segments().push_back(device_id);
    u.segments().push_back("detectedApps");
    return std::string(u.buffer());
}

bool GraphClient::same_origin(const std::string& url) const {
    return !graph_origin_.empty() && origin_of(url) == graph_origin_;
}

net::awaitable<GraphReply> GraphClient::get(const std::string& url, Clock::time_point deadline,
                                            const std::string& client_request_id) {
    GraphReply reply;
    for (int round = 0; round < 2; ++round) {
        auto token = co_await tokens_.get(deadline);
        if (!token.ok) {
            reply.kind = GraphReply::Kind::TokenFailed;
            reply.error = token.error;
            co_return reply;
        }
        HttpRequest req;
        req.url = url;
        req.headers = {{"Authorization", "Bearer " + token.token}, {"Accept", "application/json"}};
        // One ID follows a login across the gateway's log and Microsoft's (support asks for it).
        if (!client_request_id.empty()) req.headers.emplace_back("client-request-id", client_request_id);
        auto res = co_await request_with_retries(http_, req, deadline, {}, [this](const HttpResult& r, double secs) {
            metrics_.count_graph_call(r.ok() ? r.response.status : 0);
            metrics_.graph_latency.observe(secs);
        });
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

net::awaitable<GraphReply> GraphClient::get_device(const std::string& device_id, Clock::time_point deadline,
                                                   const std::string& request_id) {
    co_return co_await get(device_url(device_id), deadline, client_request_id_for(request_id));
}

net::awaitable<AppsReply> GraphClient::get_apps(const std::string& device_id, Clock::time_point deadline,
                                                const std::string& request_id) {
    const auto crid = client_request_id_for(request_id);
    AppsReply out;
    auto apps = nlohmann::json::array();
    std::string url = apps_url(device_id);
    while (!url.empty()) {
        if (out.pages >= max_app_pages) {
            out.error = "detectedApps has more than " + std::to_string(max_app_pages) + " pages";
            co_return out;
        }
        auto reply = co_await get(url, deadline, crid);
        ++out.pages;
        if (reply.kind != GraphReply::Kind::Answered) {
            out.error = reply.error;
            co_return out;
        }
        if (reply.status != 200) {
            out.error = "detectedApps: HTTP " + std::to_string(reply.status);
            if (auto e = parse_odata_error(reply.body)) {
                out.error += " " + e->code;
                if (!e->intune_code.empty()) out.error += "/" + e->intune_code;
            }
            if (!reply.request_id.empty()) out.error += "; request-id " + reply.request_id;
            co_return out;
        }
        auto page = read_apps_page(reply.body, apps);
        if (!page.error.empty()) {
            out.error = std::move(page.error);
            co_return out;
        }
        url = std::move(page.next_link);
        if (!url.empty() && !same_origin(url)) {
            // Following it would hand our token to another host.
            out.error = "detectedApps: @odata.nextLink points to another origin, not followed";
            log::warn("graph nextLink not followed",
                      {{"device_id", device_id}, {"next_origin", one_line(origin_of(url), 200)}});
            co_return out;
        }
    }
    out.apps = std::move(apps);
    co_return out;
}

}  // namespace ig
