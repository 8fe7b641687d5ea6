#define BOOST_TEST_MODULE refusal
#include <boost/test/unit_test.hpp>

#include "proxy/http/refusal.hpp"

#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <nlohmann/json.hpp>

namespace http = boost::beast::http;
using ig::Outcome;

namespace {

unsigned status_of(const boost::system::error_code& ec) {
    auto r = ig::refusal_for(ec);
    return r ? r->status : 0;
}

}  // namespace

BOOST_AUTO_TEST_CASE(limits_get_their_own_status) {
    auto header = ig::refusal_for(http::error::header_limit);
    BOOST_REQUIRE(header);
    BOOST_TEST(header->status == 431u);
    BOOST_TEST(header->reason == "request header too large");
    auto body = ig::refusal_for(http::error::body_limit);
    BOOST_REQUIRE(body);
    BOOST_TEST(body->status == 413u);
    BOOST_TEST(body->reason == "request body too large");
}

BOOST_AUTO_TEST_CASE(other_parse_errors_are_bad_requests) {
    // buffer_overflow: a chunk line or trailer over the relay's bound (max_body_framing_bytes).
    for (auto e : {http::error::bad_target, http::error::bad_method, http::error::bad_version, http::error::bad_field,
                   http::error::bad_value, http::error::bad_content_length, http::error::bad_transfer_encoding,
                   http::error::bad_chunk, http::error::bad_chunk_extension, http::error::bad_line_ending,
                   http::error::bad_obs_fold, http::error::buffer_overflow}) {
        auto r = ig::refusal_for(e);
        BOOST_REQUIRE(r);
        BOOST_TEST(r->status == 400u);
        BOOST_TEST(r->reason == "bad request");
    }
}

BOOST_AUTO_TEST_CASE(a_client_that_left_or_stalled_gets_nothing) {
    BOOST_TEST(status_of(http::error::end_of_stream) == 0u);
    BOOST_TEST(status_of(http::error::partial_message) == 0u);
    BOOST_TEST(status_of(http::error::need_buffer) == 0u);
    BOOST_TEST(status_of(boost::beast::error::timeout) == 0u);
    BOOST_TEST(status_of(boost::asio::error::connection_reset) == 0u);
    BOOST_TEST(status_of(boost::asio::error::operation_aborted) == 0u);
    BOOST_TEST(status_of({}) == 0u);
}

BOOST_AUTO_TEST_CASE(refusal_body_has_outcome_only_when_given) {
    auto plain = nlohmann::json::parse(ig::refusal_body("rid", "bad request"));
    BOOST_TEST(plain.size() == 2u);
    BOOST_TEST(plain["request_id"] == "rid");
    BOOST_TEST(plain["reason"] == "bad request");
    auto with = nlohmann::json::parse(ig::refusal_body("rid", "upstream timeout", "Compliant"));
    BOOST_TEST(with["outcome"] == "Compliant");
}

BOOST_AUTO_TEST_CASE(refusal_body_stays_valid_json_on_bad_utf8) {
    auto j = nlohmann::json::parse(ig::refusal_body("rid", "bad \xff\xfe byte"));
    BOOST_TEST(j["reason"].get<std::string>().find("bad") == 0u);
}

BOOST_AUTO_TEST_CASE(reject_body_hides_an_errors_backend_detail) {
    ig::Verdict v;
    v.outcome = Outcome::Error;
    v.reason = "token refused: AADSTS7000215 client 1234";
    auto j = nlohmann::json::parse(ig::reject_body(v, "rid"));
    BOOST_TEST(j["outcome"] == "Error");
    BOOST_TEST(j["request_id"] == "rid");
    BOOST_TEST(j["reason"].get<std::string>().find("AADSTS") == std::string::npos);
    BOOST_TEST(j["reason"].get<std::string>().find("see the log") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(reject_body_keeps_other_reasons_on_one_line) {
    ig::Verdict v;
    v.outcome = Outcome::NotCompliant;
    v.reason = "complianceState\r\nnoncompliant";
    auto j = nlohmann::json::parse(ig::reject_body(v, "rid"));
    BOOST_TEST(j["outcome"] == "NotCompliant");
    const auto reason = j["reason"].get<std::string>();
    BOOST_TEST(reason.find('\n') == std::string::npos);
    BOOST_TEST(reason.find("noncompliant") != std::string::npos);
    BOOST_TEST(ig::client_reason(v) == reason);
}
