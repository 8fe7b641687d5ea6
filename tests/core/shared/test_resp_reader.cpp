// The RESP reader's bounds (issue 26 #7): a reply over its bytes or its values is refused before
// it is held, in any piece size; the gateway's own replies pass.
#define BOOST_TEST_MODULE resp_reader
#include <boost/test/unit_test.hpp>

#include "core/shared/resp_reader.hpp"

#include <algorithm>
#include <string>

namespace {

struct Run {
    int replies = 0;
    std::string error;
};

Run feed(const std::string& bytes, std::size_t piece = 16384, ig::RespLimits limits = {}) {
    ig::RespReader r(limits);
    Run out;
    for (std::size_t o = 0; o < bytes.size(); o += piece) {
        if (!r.feed(bytes.data() + o, std::min(piece, bytes.size() - o))) break;
        while (auto x = r.next()) ++out.replies;
        if (!r.error().empty()) break;
    }
    out.error = r.error();
    return out;
}

std::string array_of(std::size_t n) {
    std::string s = "*" + std::to_string(n) + "\r\n";
    for (std::size_t i = 0; i < n; ++i) s += ":1\r\n";
    return s;
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_gateways_replies_pass) {
    for (std::size_t piece : {1, 7, 16384}) {
        auto r = feed("+OK\r\n:5\r\n$3\r\nabc\r\n$-1\r\n-ERR x\r\n", piece);
        BOOST_TEST(r.replies == 5);
        BOOST_TEST(r.error == "");
    }
    // A value just under 1 MiB, then more replies on the same connection.
    auto r = feed("$1000000\r\n" + std::string(1000000, 'a') + "\r\n+OK\r\n");
    BOOST_TEST(r.replies == 2);
    BOOST_TEST(r.error == "");
    BOOST_TEST(feed(array_of(1000)).replies == 1);
}

BOOST_AUTO_TEST_CASE(many_small_replies_are_not_one_big_one) {
    std::string many;
    for (int i = 0; i < 300000; ++i) many += "+OK\r\n";  // 1.5 MB in all
    auto r = feed(many);
    BOOST_TEST(r.replies == 300000);
    BOOST_TEST(r.error == "");
}

BOOST_AUTO_TEST_CASE(too_many_values_is_refused_when_announced) {
    auto r = feed("*10000000\r\n:1\r\n");
    BOOST_TEST(r.replies == 0);
    BOOST_TEST(r.error == "a reply with more than 1024 values");
    // Nested arrays count together; at another limit.
    std::string nested = "*2\r\n" + array_of(600) + array_of(600);
    BOOST_TEST(feed(nested).error == "a reply with more than 1024 values");
    BOOST_TEST(feed(nested, 16384, {1 << 20, 2000}).replies == 1);
    BOOST_TEST(feed(array_of(11), 3, {1 << 20, 10}).error == "a reply with more than 10 values");
}

BOOST_AUTO_TEST_CASE(too_many_bytes_is_refused_before_the_end) {
    for (std::size_t piece : {1000, 16384, 65536}) {
        auto r = feed("$40000000\r\n" + std::string(2'000'000, 'a'), piece);
        BOOST_TEST(r.replies == 0);
        BOOST_TEST(r.error == "a reply over 1048576 bytes");
    }
    BOOST_TEST(feed("$5000\r\n" + std::string(5000, 'a') + "\r\n", 100, {4096, 64}).error == "a reply over 4096 bytes");
}

BOOST_AUTO_TEST_CASE(not_resp_is_refused) {
    BOOST_TEST(feed("HTTP/1.1 400 Bad Request\r\n\r\n").error == "not the Redis protocol");
    BOOST_TEST(feed("*5000000000\r\n").error != "");
    std::string deep;
    for (int i = 0; i < 12; ++i) deep += "*1\r\n";
    BOOST_TEST(feed(deep + ":1\r\n").error != "");  // nested deeper than hiredis reads
}
