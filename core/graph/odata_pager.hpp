#pragma once
// Reading an OData collection page by page (@odata.nextLink): the one way the Graph client does it,
// for the bulk sync's device list and a device's detectedApps. A link is followed on Graph's own
// origin only (anything else would be sent the token); every link of a run is remembered, so a
// cycle of any length ends the run; and a run reads at most the pages its collection can plausibly
// hold (docs/architecture.md: the Graph client).
#include "core/graph/graph_client.hpp"
#include "core/graph/origin.hpp"

#include <boost/asio/awaitable.hpp>
#include <nlohmann/json.hpp>

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_set>

namespace ig {

// The links of one run through a collection. Pure: read_pages() and its tests use it.
class PageLinks {
public:
    // first: the collection's first page; max_pages: the most pages the run may read.
    PageLinks(Origin graph, ParsedUrl first, int max_pages);

    // The page to read next, while more().
    const ParsedUrl& next() const { return next_; }
    bool more() const { return more_; }
    int pages() const { return pages_; }

    // The page at next() was read; `link` is its @odata.nextLink ("" on the last page). Returns
    // why the run stops early (a link off Graph's origin, a link read before, too many pages), or
    // "" (then more() tells whether another page follows).
    std::string follow(std::string_view link);

private:
    Origin graph_;
    ParsedUrl next_;
    int max_pages_;
    int pages_ = 0;
    bool more_ = true;
    // A digest of the target of every page of the run (a run may be long; links may be long too).
    // A forged collision can only end a run early, which the answering side can do anyway.
    std::unordered_set<std::size_t> seen_;
};

// One page's body: its "value" array and @odata.nextLink, or why it is not an OData collection.
struct CollectionPage {
    nlohmann::json value = nlohmann::json::array();
    std::string next_link;  // "" on the last page (or when it is not a string)
    std::string error;
};
CollectionPage parse_collection_page(const std::string& body);

struct PageRun {
    bool complete = false;  // every page read
    int pages = 0;
    std::string error;  // why it stopped early: "<what>: ..." (one line, no secret)
};

struct PageRequest {
    std::string what;  // the collection, at the start of every error ("detectedApps")
    ParsedUrl first;
    int max_pages = 1;
    std::function<Clock::time_point()> deadline;  // asked before each page
    std::string client_request_id;  // may be empty
};

// Reads the pages of req.first and its @odata.nextLinks; `page(value, run)` gets each page's
// "value" array (run.pages counts it) and may end the run by setting run.error. What `page` got
// stays when a later page fails.
boost::asio::awaitable<PageRun> read_pages(GraphClient& graph, PageRequest req,
                                           const std::function<void(nlohmann::json&, PageRun&)>& page);

}  // namespace ig
