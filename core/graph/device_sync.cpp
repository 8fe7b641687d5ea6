#include "core/graph/device_sync.hpp"

#include "core/identity/device_id.hpp"
#include "core/shared/shared_value.hpp"
#include "core/text/outside_json.hpp"
#include "core/text/text.hpp"
#include "core/verdict/decision.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace ig {
namespace net = boost::asio;

net::awaitable<SyncResult> sync_all_devices(GraphClient& graph, const IntuneConfig& config,
                                            const std::function<void(const std::string&, Verdict)>& each,
                                            const std::function<void(const SyncResult&)>& page_done) {
    SyncResult out;
    // A background job can wait out a Retry-After that a login could not.
    const auto page_time = std::max<std::chrono::milliseconds>(config.timeout, std::chrono::seconds(30));
    std::string url = graph.list_url(config.sync.page_size);
    std::string previous;
    while (!url.empty()) {
        if (out.pages >= max_sync_pages) {
            out.error = "more than " + std::to_string(max_sync_pages) + " pages";
            co_return out;
        }
        auto reply = co_await graph.get_page(url, Clock::now() + page_time);
        if (reply.kind != GraphReply::Kind::Answered) {
            out.error = reply.error;
            co_return out;
        }
        if (reply.status != 200) {
            out.error = "managedDevices list: HTTP " + std::to_string(reply.status);
            if (auto e = parse_odata_error(reply.body)) out.error += " " + e->code;
            co_return out;
        }
        auto parsed = parse_outside_json(reply.body);
        nlohmann::json doc = parsed.doc ? std::move(*parsed.doc) : nlohmann::json();
        auto value = doc.is_object() ? doc.find("value") : doc.end();
        if (!doc.is_object() || value == doc.end() || !value->is_array()) {
            out.error = "managedDevices list: the answer is not an OData collection";
            co_return out;
        }
        ++out.pages;
        const auto now = unix_ms();
        for (auto& device : *value) {
            auto id_it = device.is_object() ? device.find("id") : device.end();
            std::optional<std::string> id;
            if (id_it != device.end() && id_it->is_string()) id = normalize_guid(id_it->get_ref<const std::string&>());
            if (!id) {
                ++out.skipped;
                continue;
            }
            // The same decision as for one device read: the item is what GET managedDevices/{id} returns.
            GraphReply one;
            one.kind = GraphReply::Kind::Answered;
            one.status = 200;
            one.body = device.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
            Verdict v = decide(one, config);
            if (v.outcome == Outcome::Error) {
                ++out.skipped;  // e.g. no complianceState: left to the request path
                continue;
            }
            v.source = VerdictSource::Sync;
            v.fetched_at_ms = now;
            each(*id, std::move(v));
            ++out.devices;
        }
        std::string next;
        if (auto n = doc.find("@odata.nextLink"); n != doc.end() && n->is_string()) next = n->get<std::string>();
        if (!next.empty() && !graph.same_origin(next)) {
            out.error = "managedDevices list: @odata.nextLink points to another origin, not followed";
            co_return out;
        }
        if (!next.empty() && (next == url || next == previous)) {
            out.error = "managedDevices list: @odata.nextLink repeats itself";
            co_return out;
        }
        previous = std::move(url);
        url = std::move(next);
        if (page_done) page_done(out);
    }
    out.complete = true;
    co_return out;
}

}  // namespace ig
