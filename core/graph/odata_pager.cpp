#include "core/graph/odata_pager.hpp"

#include "core/graph/graph_reply.hpp"
#include "core/text/log.hpp"
#include "core/text/outside_json.hpp"
#include "core/text/text.hpp"

#include <utility>

namespace ig {
namespace net = boost::asio;

PageLinks::PageLinks(Origin graph, ParsedUrl first, int max_pages)
    : graph_(std::move(graph)), next_(std::move(first)), max_pages_(max_pages) {
    seen_.insert(std::hash<std::string>{}(next_.target));
}

std::string PageLinks::follow(std::string_view link) {
    ++pages_;
    if (link.empty()) {
        more_ = false;
        return {};
    }
    more_ = false;  // until the link passes
    auto parsed = parse_next_link(link, graph_);
    if (!parsed.error.empty()) {
        log::warn("graph nextLink not followed",
                  {{"next_origin", one_line(parsed.origin.text(), 200)}, {"problem", parsed.error}});
        return "@odata.nextLink points to another origin, not followed";
    }
    // The origin is Graph's (checked above): the target names the page.
    if (!seen_.insert(std::hash<std::string>{}(parsed.target)).second)
        return "@odata.nextLink repeats a page of this run";
    if (pages_ >= max_pages_) return "more than " + std::to_string(max_pages_) + " pages";
    next_ = std::move(parsed);
    more_ = true;
    return {};
}

CollectionPage parse_collection_page(const std::string& body) {
    CollectionPage page;
    auto parsed = parse_outside_json(body);
    if (!parsed.doc) {
        page.error = parsed.error;
        return page;
    }
    auto& doc = *parsed.doc;
    auto value = doc.is_object() ? doc.find("value") : doc.end();
    if (!doc.is_object() || value == doc.end() || !value->is_array()) {
        page.error = "the answer is not an OData collection";
        return page;
    }
    page.value = std::move(*value);
    if (auto n = doc.find("@odata.nextLink"); n != doc.end() && n->is_string()) page.next_link = n->get<std::string>();
    return page;
}

net::awaitable<PageRun> read_pages(GraphClient& graph, PageRequest req,
                                   const std::function<void(nlohmann::json&, PageRun&)>& page) {
    PageRun run;
    PageLinks links(graph.origin(), std::move(req.first), req.max_pages);
    auto stop = [&](std::string why) {
        run.error = req.what + ": " + why;
        return run;
    };
    while (links.more()) {
        auto reply = co_await graph.get_page(links.next(), req.deadline(), req.client_request_id);
        if (reply.kind != GraphReply::Kind::Answered) co_return stop(reply.error);
        if (reply.status != 200) co_return stop(odata_error_text(reply));
        auto body = parse_collection_page(reply.body);
        if (!body.error.empty()) co_return stop(std::move(body.error));
        auto why = links.follow(body.next_link);
        run.pages = links.pages();
        page(body.value, run);
        if (!run.error.empty()) co_return run;  // the page's reader ended the run
        if (!why.empty()) co_return stop(std::move(why));
    }
    run.complete = true;
    co_return run;
}

}  // namespace ig
