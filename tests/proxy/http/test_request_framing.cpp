#define BOOST_TEST_MODULE request_framing
#include <boost/test/unit_test.hpp>

#include "proxy/http/request_framing.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>

#include <string>

namespace beast = boost::beast;
namespace http = beast::http;

namespace {

// Parses a raw request header the way the gateway does (Beast's request parser); "" when Beast
// itself refuses it (the gateway answers 400 then too).
struct Parsed {
    bool parsed = false;
    ig::FramingCheck check;
};

Parsed check(std::string raw) {
    http::request_parser<http::empty_body> p;
    p.eager(false);
    beast::error_code ec;
    p.put(boost::asio::buffer(raw), ec);
    Parsed out;
    if (ec && ec != http::error::need_more) return out;
    if (!p.is_header_done()) return out;
    out.parsed = true;
    out.check = ig::check_request_framing(p.get());
    return out;
}

bool accepted(const std::string& raw) {
    auto r = check(raw);
    return r.parsed && r.check.ok();
}

bool refused(const std::string& raw) {
    auto r = check(raw);
    return !r.parsed || !r.check.ok();
}

const std::string host = "Host: app.example\r\n";

}  // namespace

BOOST_AUTO_TEST_CASE(plain_requests_pass) {
    BOOST_TEST(accepted("GET / HTTP/1.1\r\n" + host + "\r\n"));
    BOOST_TEST(accepted("GET /a?b=c HTTP/1.1\r\nHost: app.example:8443\r\n\r\n"));
    BOOST_TEST(accepted("POST /x HTTP/1.1\r\n" + host + "Content-Length: 3\r\n\r\n"));
    BOOST_TEST(accepted("POST /x HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\n\r\n"));
    BOOST_TEST(accepted("POST /x HTTP/1.1\r\n" + host + "Transfer-Encoding: Chunked\r\n\r\n"));
    BOOST_TEST(accepted("GET / HTTP/1.0\r\nHost: a\r\n\r\n"));
    BOOST_TEST(accepted("OPTIONS * HTTP/1.1\r\n" + host + "\r\n"));
    BOOST_TEST(check("GET / HTTP/1.1\r\n" + host + "\r\n").check.origin_target.has_value() == false);
}

BOOST_AUTO_TEST_CASE(transfer_encoding_only_single_chunked) {
    // The smuggling pair: the parser frames by the last field, a serialiser by the first.
    BOOST_TEST(
        refused("POST /x HTTP/1.1\r\n" + host + "Transfer-Encoding: identity\r\nTransfer-Encoding: chunked\r\n\r\n"));
    BOOST_TEST(
        refused("POST /x HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"));
    BOOST_TEST(refused("POST /x HTTP/1.1\r\n" + host + "Transfer-Encoding: gzip, chunked\r\n\r\n"));
    BOOST_TEST(refused("POST /x HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked, chunked\r\n\r\n"));
    BOOST_TEST(refused("POST /x HTTP/1.1\r\n" + host + "Transfer-Encoding: identity\r\n\r\n"));
    BOOST_TEST(refused("POST /x HTTP/1.1\r\n" + host + "Transfer-Encoding: gzip\r\n\r\n"));
    BOOST_TEST(refused("POST /x HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked;q=1\r\n\r\n"));
    BOOST_TEST(refused("POST /x HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"));
    BOOST_TEST(
        check("POST /x HTTP/1.1\r\n" + host + "Transfer-Encoding: identity\r\nTransfer-Encoding: chunked\r\n\r\n")
            .check.error == "repeated transfer-encoding");
}

BOOST_AUTO_TEST_CASE(content_length_single_and_alone) {
    BOOST_TEST(refused("POST /x HTTP/1.1\r\n" + host + "Content-Length: 3\r\nContent-Length: 3\r\n\r\n"));
    BOOST_TEST(refused("POST /x HTTP/1.1\r\n" + host + "Content-Length: 3\r\nContent-Length: 4\r\n\r\n"));
    BOOST_TEST(refused("POST /x HTTP/1.1\r\n" + host + "Content-Length: 3, 3\r\n\r\n"));
    BOOST_TEST(refused("POST /x HTTP/1.1\r\n" + host + "Content-Length: +3\r\n\r\n"));
    BOOST_TEST(refused("POST /x HTTP/1.1\r\n" + host + "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"));
    BOOST_TEST(refused("POST /x HTTP/1.1\r\n" + host + "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n"));
}

BOOST_AUTO_TEST_CASE(exactly_one_valid_host) {
    BOOST_TEST(check("GET / HTTP/1.1\r\n\r\n").check.error == "missing host");
    BOOST_TEST(check("GET / HTTP/1.0\r\n\r\n").check.error == "missing host");
    BOOST_TEST(check("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n").check.error == "repeated host");
    BOOST_TEST(refused("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"));
    BOOST_TEST(refused("GET / HTTP/1.1\r\nHost: user@app.example\r\n\r\n"));
    BOOST_TEST(refused("GET / HTTP/1.1\r\nHost: a b\r\n\r\n"));
    BOOST_TEST(refused("GET / HTTP/1.1\r\nHost: \r\n\r\n"));
    BOOST_TEST(refused("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n"));
}

BOOST_AUTO_TEST_CASE(request_target_forms) {
    auto abs = check("GET http://app.example/p/q?x=1 HTTP/1.1\r\n" + host + "\r\n");
    BOOST_TEST(abs.check.ok());
    BOOST_TEST(abs.check.origin_target.value_or("") == "/p/q?x=1");
    auto bare = check("GET https://APP.example HTTP/1.1\r\n" + host + "\r\n");
    BOOST_TEST(bare.check.ok());
    BOOST_TEST(bare.check.origin_target.value_or("") == "/");
    BOOST_TEST(refused("GET http://evil.example/ HTTP/1.1\r\n" + host + "\r\n"));
    BOOST_TEST(refused("GET http://user@app.example/ HTTP/1.1\r\n" + host + "\r\n"));
    BOOST_TEST(refused("GET ftp://app.example/ HTTP/1.1\r\n" + host + "\r\n"));
    BOOST_TEST(refused("GET http://app.example/ HTTP/1.0\r\n\r\n"));
    BOOST_TEST(refused("GET http://app.example/ HTTP/1.1\r\nHost: other.example\r\n\r\n"));
    BOOST_TEST(refused("CONNECT app.example:443 HTTP/1.1\r\n" + host + "\r\n"));
    BOOST_TEST(refused("GET * HTTP/1.1\r\n" + host + "\r\n"));
    BOOST_TEST(refused("GET app.example HTTP/1.1\r\n" + host + "\r\n"));
}

BOOST_AUTO_TEST_CASE(only_http_1x) {
    BOOST_TEST(refused("GET / HTTP/2.0\r\n" + host + "\r\n"));
    BOOST_TEST(refused("GET / HTTP/1.2\r\n" + host + "\r\n"));
}

namespace {

std::string_view check_response(std::string raw) {
    http::response_parser<http::empty_body> p;
    p.eager(false);
    p.skip(true);
    beast::error_code ec;
    p.put(boost::asio::buffer(raw), ec);
    if (!p.is_header_done()) return "not parsed";
    return ig::check_response_framing(p.get());
}

}  // namespace

BOOST_AUTO_TEST_CASE(response_framing) {
    BOOST_TEST(check_response("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n").empty());
    BOOST_TEST(check_response("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n").empty());
    BOOST_TEST(check_response("HTTP/1.1 200 OK\r\n\r\n").empty());
    BOOST_TEST(check_response("HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\nTransfer-Encoding: chunked\r\n\r\n") ==
               "repeated transfer-encoding");
    BOOST_TEST(check_response("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n") ==
               "repeated content-length");
    BOOST_TEST(!check_response("HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\n\r\n").empty());
}
