#define BOOST_TEST_MODULE request_arena
#include <boost/test/unit_test.hpp>

#include "proxy/front/upstream_exchange.hpp"
#include "proxy/http/request_arena.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>

#include <list>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace http = boost::beast::http;
using ig::RequestArena;

namespace {

std::size_t feed(ig::RequestParser& p, std::string_view bytes, boost::system::error_code& ec) {
    return p.put(boost::asio::buffer(bytes.data(), bytes.size()), ec);
}

ig::RequestParser parser_in(RequestArena& arena) {
    return ig::RequestParser(std::piecewise_construct, std::make_tuple(), std::make_tuple(arena.allocator()));
}

bool inside(const void* p, const std::byte* block) {
    const auto* b = static_cast<const std::byte*>(p);
    return b >= block && b < block + RequestArena::block_size;
}

}  // namespace

BOOST_AUTO_TEST_CASE(fields_live_in_a_block_lent_by_the_worker_and_given_back) {
    RequestArena::Spares spares;
    spares.push_back(std::make_unique<std::byte[]>(RequestArena::block_size));
    const std::byte* block = spares.back().get();
    {
        RequestArena arena(spares);
        auto p = parser_in(arena);
        boost::system::error_code ec;
        feed(p, "GET /a HTTP/1.1\r\nHost: gw.example\r\nX-One: first value\r\n\r\n", ec);
        BOOST_REQUIRE(!ec);
        BOOST_REQUIRE(p.is_header_done());
        BOOST_TEST(spares.empty());  // lent
        BOOST_TEST(p.get()["X-One"] == "first value");
        BOOST_TEST(inside(p.get()["X-One"].data(), block));
        BOOST_TEST(inside(p.get().target().data(), block));
        // What the gateway sets goes there too; a replaced field keeps its bytes until the end.
        p.get().set("X-Intune-Outcome", "Compliant");
        p.get().set("X-Intune-Outcome", "NotCompliant");
        BOOST_TEST(p.get()["X-Intune-Outcome"] == "NotCompliant");
        BOOST_TEST(inside(p.get()["X-Intune-Outcome"].data(), block));
    }
    BOOST_REQUIRE(spares.size() == 1u);
    BOOST_TEST(spares.back().get() == block);
}

BOOST_AUTO_TEST_CASE(the_block_is_taken_by_the_first_parsed_line) {
    // A connection whose request has not begun holds no block; Beast parses each complete line as
    // it comes, so the request line takes it (and a half line does not).
    RequestArena::Spares spares;
    spares.push_back(std::make_unique<std::byte[]>(RequestArena::block_size));
    RequestArena arena(spares);
    auto p = parser_in(arena);
    boost::system::error_code ec;
    feed(p, "GET /a HTT", ec);
    BOOST_TEST((ec == http::error::need_more));
    BOOST_TEST(spares.size() == 1u);
    ig::RequestParser q(std::piecewise_construct, std::make_tuple(), std::make_tuple(arena.allocator()));
    feed(q, "GET /a HTTP/1.1\r\nHost: gw", ec);
    BOOST_TEST((ec == http::error::need_more));
    BOOST_TEST(spares.empty());
}

BOOST_AUTO_TEST_CASE(a_header_larger_than_the_block_is_kept_whole) {
    RequestArena::Spares spares;
    std::string request = "POST /big HTTP/1.1\r\nHost: gw.example\r\nContent-Length: 0\r\n";
    for (int i = 0; i < 40; ++i)
        request += "X-Field-" + std::to_string(i) + ": " + std::string(700, static_cast<char>('a' + i % 26)) + "\r\n";
    request += "\r\n";
    BOOST_REQUIRE(request.size() > 3 * RequestArena::block_size);
    {
        RequestArena arena(spares);
        auto p = parser_in(arena);
        p.header_limit(64 * 1024);
        boost::system::error_code ec;
        feed(p, request, ec);
        BOOST_REQUIRE(!ec);
        BOOST_REQUIRE(p.is_done());
        for (int i = 0; i < 40; ++i)
            BOOST_TEST(p.get()["X-Field-" + std::to_string(i)] == std::string(700, static_cast<char>('a' + i % 26)));
        BOOST_TEST(p.get()[http::field::host] == "gw.example");
    }
    BOOST_TEST(spares.size() == 1u);  // the block comes back; what spilled over went to the heap
}

BOOST_AUTO_TEST_CASE(spare_blocks_are_capped) {
    RequestArena::Spares spares;
    {
        std::vector<std::unique_ptr<RequestArena>> arenas;
        std::list<ig::RequestParser> parsers;  // Beast's parser does not move
        for (int i = 0; i < 100; ++i) {
            arenas.push_back(std::make_unique<RequestArena>(spares));
            parsers.emplace_back(std::piecewise_construct, std::make_tuple(),
                                 std::make_tuple(arenas.back()->allocator()));
            boost::system::error_code ec;
            feed(parsers.back(), "GET / HTTP/1.1\r\nHost: a\r\n\r\n", ec);
            BOOST_REQUIRE(!ec);
        }
        parsers.clear();
    }
    BOOST_TEST(spares.size() == 64u);
}

BOOST_AUTO_TEST_CASE(a_parser_without_an_arena_uses_the_heap) {
    ig::RequestParser p;  // the unit tests' and fuzzers' way: the default memory resource
    boost::system::error_code ec;
    feed(p, "GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n\r\n", ec);
    BOOST_REQUIRE(!ec);
    BOOST_TEST(p.get()["X-A"] == "b");
}
