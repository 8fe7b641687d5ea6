// The OData pager's pure parts: which @odata.nextLink a run follows (Graph's origin only, no page
// twice however long the cycle, a bounded number of pages) and what a page body must be.
#define BOOST_TEST_MODULE odata_pager
#include <boost/test/unit_test.hpp>

#include "core/graph/device_sync.hpp"
#include "core/graph/odata_pager.hpp"

#include <string>

using ig::PageLinks;

namespace {

const std::string graph = "https://graph.example";

ig::ParsedUrl page(const std::string& path) { return ig::parse_url(graph + path); }

PageLinks run(int max_pages = 100) { return PageLinks(page("/").origin, page("/list?$top=1"), max_pages); }

}  // namespace

BOOST_AUTO_TEST_CASE(follows_links_on_graphs_origin_to_the_last_page) {
    auto links = run();
    BOOST_TEST(links.next().target == "/list?$top=1");
    BOOST_TEST(links.follow(graph + "/list?$skiptoken=a").empty());
    BOOST_TEST(links.more());
    BOOST_TEST(links.next().target == "/list?$skiptoken=a");
    BOOST_TEST(links.follow("https://GRAPH.example:443/list?$skiptoken=b").empty());
    BOOST_TEST(links.next().target == "/list?$skiptoken=b");
    BOOST_TEST(links.follow("").empty());
    BOOST_TEST(!links.more());
    BOOST_TEST(links.pages() == 3);
}

BOOST_AUTO_TEST_CASE(a_cycle_of_any_length_ends_the_run_at_its_first_repeat) {
    for (int length : {1, 2, 3, 7}) {
        auto links = run();
        std::string why;
        int followed = 0;
        // Page i links to page i+1; the last of the cycle back to the first page after the list's own.
        for (int i = 1; why.empty() && followed < 50; ++i, ++followed) {
            const int target = i <= length ? i : 1;
            why = links.follow(graph + "/list?$skiptoken=" + std::to_string(target));
        }
        BOOST_TEST(why == "@odata.nextLink repeats a page of this run", "cycle of " << length);
        BOOST_TEST(links.pages() == length + 1, "cycle of " << length);
        BOOST_TEST(!links.more());
    }
    // Back to the list's first page, spelled with the default port.
    auto links = run();
    BOOST_TEST(links.follow("https://graph.example:443/list?$top=1") == "@odata.nextLink repeats a page of this run");
}

BOOST_AUTO_TEST_CASE(a_link_off_graphs_origin_is_not_followed) {
    for (const std::string link : {"https://evil.example/list?$skiptoken=a", "http://graph.example/list",
                                   "https://graph.example:8443/list", "not a url"}) {
        auto links = run();
        BOOST_TEST(links.follow(link) == "@odata.nextLink points to another origin, not followed", link);
        BOOST_TEST(!links.more());
    }
}

BOOST_AUTO_TEST_CASE(a_run_reads_at_most_its_pages) {
    auto links = run(3);
    BOOST_TEST(links.follow(graph + "/p2").empty());
    BOOST_TEST(links.follow(graph + "/p3").empty());
    BOOST_TEST(links.follow(graph + "/p4") == "more than 3 pages");
    BOOST_TEST(!links.more());
    auto last = run(3);
    last.follow(graph + "/p2");
    last.follow(graph + "/p3");
    BOOST_TEST(last.follow("").empty());  // three pages, the last without a link: complete
}

BOOST_AUTO_TEST_CASE(the_sync_reads_the_pages_its_tenant_can_plausibly_fill) {
    BOOST_TEST(ig::max_sync_pages(1000) == 2001);
    BOOST_TEST(ig::max_sync_pages(999) == 2003);
    BOOST_TEST(ig::max_sync_pages(1) == 100000);
    BOOST_TEST(ig::max_sync_pages(0) == 100000);
}

BOOST_AUTO_TEST_CASE(a_page_is_an_odata_collection) {
    auto ok = ig::parse_collection_page(R"({"value":[{"id":"a"}],"@odata.nextLink":"https://graph.example/n"})");
    BOOST_TEST(ok.error.empty());
    BOOST_TEST(ok.value.size() == 1u);
    BOOST_TEST(ok.next_link == "https://graph.example/n");
    auto last = ig::parse_collection_page(R"({"value":[],"@odata.nextLink":7})");
    BOOST_TEST(last.error.empty());
    BOOST_TEST(last.next_link.empty());
    for (const std::string body : {"", "[]", R"({"value":{}})", R"({"values":[]})", "{"}) {
        auto bad = ig::parse_collection_page(body);
        BOOST_TEST(!bad.error.empty(), body);
        BOOST_TEST(bad.value.empty());
    }
}
