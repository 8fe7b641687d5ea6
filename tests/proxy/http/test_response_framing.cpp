#define BOOST_TEST_MODULE response_framing
#include <boost/test/unit_test.hpp>

#include "proxy/http/response_framing.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/string_body.hpp>

#include <ostream>
#include <string>

namespace http = boost::beast::http;
using Body = ig::ResponseFraming::Body;

namespace ig {
std::ostream& operator<<(std::ostream& o, Body b) { return o << static_cast<int>(b); }
}  // namespace ig

namespace {

struct Framed {
    ig::ResponseFraming framing;
    http::response<http::string_body> header;
};

// Parses an upstream response header as the gateway does, then frames it for the request.
Framed frame(const std::string& upstream, ig::RelayRequest req) {
    http::response_parser<http::string_body> p;
    if (req.head) p.skip(true);
    boost::system::error_code ec;
    p.put(boost::asio::buffer(upstream), ec);
    BOOST_REQUIRE(!ec || ec == http::error::need_more);
    BOOST_REQUIRE(p.is_header_done());
    Framed out;
    out.framing = ig::frame_response(ig::upstream_response(p), req);
    out.header = p.get();
    ig::apply_framing(out.header, out.framing);
    return out;
}

const ig::RelayRequest v11_keep{11, false, true};
const ig::RelayRequest v10_keep{10, false, true};

bool has_chunked(const http::response<http::string_body>& h) { return h.chunked(); }

}  // namespace

BOOST_AUTO_TEST_CASE(content_length_goes_as_is) {
    auto f = frame("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", v11_keep);
    BOOST_TEST(f.framing.body == Body::AsIs);
    BOOST_TEST(f.framing.keep_alive);
    BOOST_TEST(f.header.keep_alive());
    BOOST_TEST(!has_chunked(f.header));
    BOOST_TEST(f.header[http::field::content_length] == "5");
    // A Content-Length response keeps an HTTP/1.0 client too (Connection: keep-alive).
    auto old = frame("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", v10_keep);
    BOOST_TEST(old.framing.body == Body::AsIs);
    BOOST_TEST(old.framing.keep_alive);
    BOOST_TEST(old.header.version() == 10u);
    BOOST_TEST(old.header.keep_alive());
}

BOOST_AUTO_TEST_CASE(close_delimited_becomes_chunked_for_http11) {
    auto f = frame("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n", v11_keep);
    BOOST_TEST(f.framing.body == Body::ToChunked);
    BOOST_TEST(f.framing.keep_alive);
    BOOST_TEST(has_chunked(f.header));
    BOOST_TEST(f.header.version() == 11u);
    // From an HTTP/1.0 upstream too: the client still gets HTTP/1.1.
    auto from10 = frame("HTTP/1.0 200 OK\r\n\r\n", v11_keep);
    BOOST_TEST(from10.framing.body == Body::ToChunked);
    BOOST_TEST(from10.header.version() == 11u);
}

BOOST_AUTO_TEST_CASE(close_delimited_for_http10_closes) {
    auto f = frame("HTTP/1.1 200 OK\r\n\r\n", v10_keep);
    BOOST_TEST(f.framing.body == Body::UntilClose);
    BOOST_TEST(!f.framing.keep_alive);
    BOOST_TEST(!has_chunked(f.header));
    BOOST_TEST(!f.header.keep_alive());
    BOOST_TEST(f.header.version() == 10u);
}

BOOST_AUTO_TEST_CASE(chunked_is_unchunked_for_http10) {
    auto f = frame("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", v10_keep);
    BOOST_TEST(f.framing.body == Body::FromChunked);
    BOOST_TEST(!f.framing.keep_alive);
    BOOST_TEST(!has_chunked(f.header));
    BOOST_TEST(f.header.count(http::field::transfer_encoding) == 0u);
    auto v11 = frame("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", v11_keep);
    BOOST_TEST(v11.framing.body == Body::AsIs);
    BOOST_TEST(v11.framing.keep_alive);
    BOOST_TEST(has_chunked(v11.header));
}

BOOST_AUTO_TEST_CASE(bodiless_responses_send_the_header_only) {
    for (const char* r : {"HTTP/1.1 204 No Content\r\n\r\n", "HTTP/1.1 304 Not Modified\r\n\r\n"}) {
        auto f = frame(r, v10_keep);
        BOOST_TEST(f.framing.body == Body::None);
        BOOST_TEST(f.framing.keep_alive);  // nothing to delimit: an HTTP/1.0 client stays too
    }
    // HEAD: the upstream's framing fields describe the GET body and are passed on untouched.
    ig::RelayRequest head{11, true, true};
    auto f = frame("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", head);
    BOOST_TEST(f.framing.body == Body::None);
    BOOST_TEST(has_chunked(f.header));
    ig::RelayRequest head10{10, true, true};
    auto g = frame("HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n", head10);
    BOOST_TEST(g.framing.body == Body::None);
    BOOST_TEST(g.framing.keep_alive);
    BOOST_TEST(g.header[http::field::content_length] == "1234");
}

BOOST_AUTO_TEST_CASE(empty_body_at_header_end_goes_as_is) {
    auto f = frame("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", v10_keep);
    BOOST_TEST(f.framing.body == Body::AsIs);
    BOOST_TEST(f.framing.keep_alive);
}

BOOST_AUTO_TEST_CASE(switching_protocols_never_keeps_the_connection) {
    auto f = frame("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n", v11_keep);
    BOOST_TEST(f.framing.body == Body::None);
    BOOST_TEST(!f.framing.keep_alive);
    BOOST_TEST(!f.header.keep_alive());
}

BOOST_AUTO_TEST_CASE(a_client_that_closes_stays_closed) {
    ig::RelayRequest close{11, false, false};
    auto f = frame("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n", close);
    BOOST_TEST(!f.framing.keep_alive);
    BOOST_TEST(!f.header.keep_alive());
    BOOST_TEST(f.header[http::field::connection] == "close");
}

BOOST_AUTO_TEST_CASE(keep_alive_needs_the_whole_request_and_no_drain) {
    auto parse = [](const std::string& text, http::request_parser<http::string_body>& p) {
        boost::system::error_code ec;
        p.eager(false);
        p.put(boost::asio::buffer(text), ec);
        BOOST_REQUIRE(!ec || ec == http::error::need_more);
    };
    {
        http::request_parser<http::string_body> p;
        parse("GET / HTTP/1.1\r\nHost: a\r\n\r\n", p);
        BOOST_TEST(ig::client_keep_alive(p, false));
        BOOST_TEST(!ig::client_keep_alive(p, true));
    }
    {  // a body not read yet
        http::request_parser<http::string_body> p;
        parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n", p);
        BOOST_TEST(!ig::client_keep_alive(p, false));
    }
    {  // the second Connection field counts
        http::request_parser<http::string_body> p;
        parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n", p);
        BOOST_TEST(!ig::client_keep_alive(p, false));
    }
    {  // HTTP/1.0 only with keep-alive
        http::request_parser<http::string_body> p;
        parse("GET / HTTP/1.0\r\nHost: a\r\n\r\n", p);
        BOOST_TEST(!ig::client_keep_alive(p, false));
        http::request_parser<http::string_body> q;
        parse("GET / HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n", q);
        BOOST_TEST(ig::client_keep_alive(q, false));
    }
}
