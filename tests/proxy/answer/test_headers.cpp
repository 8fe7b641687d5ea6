#define BOOST_TEST_MODULE headers
#include <boost/test/unit_test.hpp>

#include "proxy/answer/headers.hpp"
#include "tests/support/base64url_decode.hpp"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace http = boost::beast::http;

namespace {

ig::Config make_config() {
    ig::Config c;
    c.device_id.header = "X-Device-Id";
    c.outcomes[static_cast<std::size_t>(ig::Outcome::Compliant)] = {
        ig::Action::Forward, 403, {}, {{"X-Auth-Level", "2"}}};
    c.outcomes[static_cast<std::size_t>(ig::Outcome::InGracePeriod)] = {
        ig::Action::Forward, 403, {}, {{"X-Grace", "yes\r\nX-Evil: 1"}}};
    return c;
}

bool has(const http::fields& f, std::string_view name) { return f.find(name) != f.end(); }

void check_clean(const http::fields& f) {
    for (const auto& h : f)
        for (char c : h.value())
            BOOST_TEST((static_cast<unsigned char>(c) >= 0x20 || c == '\t'), "control char in " << h.name_string());
}

}  // namespace

BOOST_AUTO_TEST_CASE(sanitize_drops_control_characters) {
    BOOST_TEST(ig::sanitize_header_value("a\r\nb") == "ab");
    BOOST_TEST(ig::sanitize_header_value(std::string_view("a\0b", 3)) == "ab");
    BOOST_TEST(ig::sanitize_header_value("  x\ty \x7f ") == "x\ty");
    BOOST_TEST(ig::sanitize_header_value("\r\n") == "");
}

BOOST_AUTO_TEST_CASE(client_headers_are_stripped) {
    const auto cfg = make_config();
    const auto policy = ig::make_header_policy(cfg);
    http::fields f;
    f.set(http::field::host, "app.example");
    f.insert("X-Intune-Outcome", "Compliant");
    f.insert("x-intune-device", "spoof");
    f.insert("X-INTUNE-Compliance-State", "compliant");
    f.insert("X-Device-Id", "3f2504e0-4f89-41d3-9a0c-0305e82c3301");
    f.insert("X-Auth-Level", "9");
    f.insert("X-Grace", "yes");
    f.insert("X-Forwarded-For", "10.0.0.1");
    f.insert("X-Forwarded-Host", "evil");
    f.insert("Forwarded", "for=1.2.3.4");
    f.insert(http::field::connection, "keep-alive, X-Custom-Hop");
    f.insert("X-Custom-Hop", "1");
    f.insert("Keep-Alive", "timeout=5");
    f.insert("Proxy-Authorization", "Basic xyz");
    f.insert(http::field::te, "trailers");
    f.insert(http::field::trailer, "X-T");
    f.insert(http::field::upgrade, "websocket");
    f.insert(http::field::transfer_encoding, "chunked");
    f.insert("Authorization", "Bearer keep-me");
    f.insert("X-Intuneish", "kept");
    ig::strip_client_headers(f, policy);
    for (auto gone : {"X-Intune-Outcome", "X-Intune-Device", "X-Intune-Compliance-State", "X-Device-Id", "X-Auth-Level",
                      "X-Grace", "X-Forwarded-For", "X-Forwarded-Host", "Forwarded", "Connection", "X-Custom-Hop",
                      "Keep-Alive", "Proxy-Authorization", "TE", "Trailer", "Upgrade"})
        BOOST_TEST(!has(f, gone), gone << " survived");
    BOOST_TEST(f[http::field::host] == "app.example");
    BOOST_TEST(f["Authorization"] == "Bearer keep-me");
    BOOST_TEST(f["X-Intuneish"] == "kept");
    // The client's framing goes: the gateway writes the framing of the body it relays itself.
    BOOST_TEST(!has(f, "Transfer-Encoding"));
}

BOOST_AUTO_TEST_CASE(underscore_variants_are_stripped) {
    const auto cfg = make_config();
    const auto policy = ig::make_header_policy(cfg);
    http::fields f;
    f.set(http::field::host, "app.example");
    f.insert("X_Intune_Device_Id", "3f2504e0-4f89-41d3-9a0c-0305e82c3301");
    f.insert("X-Intune_Outcome", "Compliant");
    f.insert("x_intune-compliance_state", "compliant");
    f.insert("X_Auth_Level", "9");
    f.insert("X_Device_Id", "spoof");
    f.insert("X_Forwarded_For", "10.0.0.1");
    f.insert("X_Request_Id", "mine");
    f.insert("X-Grace_", "kept: not the same name");
    f.insert("X_Custom", "kept");
    ig::strip_client_headers(f, policy);
    for (auto gone : {"X_Intune_Device_Id", "X-Intune_Outcome", "x_intune-compliance_state", "X_Auth_Level",
                      "X_Device_Id", "X_Forwarded_For", "X_Request_Id"})
        BOOST_TEST(!has(f, gone), gone << " survived");
    BOOST_TEST(f["X_Custom"] == "kept");
    BOOST_TEST(has(f, "X-Grace_"));
}

BOOST_AUTO_TEST_CASE(connection_cannot_remove_host) {
    const auto policy = ig::make_header_policy(make_config());
    http::fields f;
    f.set(http::field::host, "app.example");
    f.insert(http::field::connection, "Host, X-Forwarded-Proto");
    ig::strip_client_headers(f, policy);
    BOOST_TEST(f[http::field::host] == "app.example");
    BOOST_TEST(!has(f, "Connection"));
}

BOOST_AUTO_TEST_CASE(framing_is_written_by_the_gateway) {
    const auto policy = ig::make_header_policy(make_config());
    ig::ForwardFacts facts;
    facts.outcome = ig::Outcome::NoId;
    facts.request_id = "r";
    facts.client_address = "::1";
    http::fields f;
    f.insert(http::field::transfer_encoding, "identity");
    f.insert(http::field::transfer_encoding, "chunked");
    f.insert(http::field::content_length, "7");
    ig::strip_client_headers(f, policy);
    facts.chunked = true;
    ig::set_forward_headers(f, policy, facts);
    BOOST_TEST(f.count(http::field::transfer_encoding) == 1);
    BOOST_TEST(f[http::field::transfer_encoding] == "chunked");
    BOOST_TEST(!has(f, "Content-Length"));

    http::fields g;
    g.insert(http::field::content_length, "7");
    ig::strip_client_headers(g, policy);
    facts.chunked = false;
    facts.content_length = 12;
    ig::set_forward_headers(g, policy, facts);
    BOOST_TEST(g[http::field::content_length] == "12");
    BOOST_TEST(!has(g, "Transfer-Encoding"));

    http::fields none;
    facts.content_length.reset();
    ig::set_forward_headers(none, policy, facts);
    BOOST_TEST(!has(none, "Content-Length"));
    BOOST_TEST(!has(none, "Transfer-Encoding"));
}

// A value over Beast's per-field limit throws; the session turns that into a 502 (e2e test_limits).
BOOST_AUTO_TEST_CASE(oversized_value_throws_length_error) {
    const auto policy = ig::make_header_policy(make_config());
    ig::Verdict v;
    v.outcome = ig::Outcome::Compliant;
    v.apps_json = std::string(70000, 'a');
    ig::ForwardFacts facts;
    facts.outcome = v.outcome;
    facts.verdict = &v;
    facts.request_id = "r";
    http::fields f;
    BOOST_CHECK_THROW(ig::set_forward_headers(f, policy, facts), std::length_error);
}

BOOST_AUTO_TEST_CASE(connection_cannot_remove_framing) {
    http::fields f;
    f.insert(http::field::connection, "Content-Length, Transfer-Encoding");
    f.insert(http::field::content_length, "5");
    ig::strip_hop_by_hop(f);
    BOOST_TEST(f[http::field::content_length] == "5");
    BOOST_TEST(!has(f, "Connection"));
}

// Every name any Connection field lists goes, in any case, however many are listed; names it does
// not list stay.
BOOST_AUTO_TEST_CASE(connection_lists_many_names) {
    http::fields f;
    std::string listed;
    for (int i = 0; i < 2000; ++i) listed += "x-n" + std::to_string(i) + ", ";
    f.insert(http::field::connection, listed + "X-Secret");
    f.insert(http::field::connection, "close, x-OTHER");
    for (int i = 0; i < 2000; i += 7) f.insert("X-N" + std::to_string(i), "v");
    f.insert("x-secret", "1");
    f.insert("X-Other", "2");
    f.insert("X-Kept", "3");
    f.insert("X-N", "4");  // a prefix of listed names, not one of them
    ig::strip_hop_by_hop(f);
    std::vector<std::string> left;
    for (const auto& field : f) left.emplace_back(field.name_string());
    BOOST_TEST(left == (std::vector<std::string>{"X-Kept", "X-N"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(forward_headers_are_set) {
    const auto cfg = make_config();
    const auto policy = ig::make_header_policy(cfg);
    http::fields f;
    f.insert("X-Intune-Outcome", "spoof");
    ig::strip_client_headers(f, policy);
    ig::Verdict v;
    v.outcome = ig::Outcome::Compliant;
    v.compliance_state = "compliant";
    v.device_json = R"({"deviceName":"laptop\r\nX-Evil: 1","id":"x"})";
    v.apps_json = R"([{"displayName":"Word","version":"16","publisher":"Microsoft"}])";
    const std::string id = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";
    ig::ForwardFacts facts;
    facts.outcome = v.outcome;
    facts.device_id = &id;
    facts.verdict = &v;
    facts.request_id = "0123456789abcdef0123456789abcdef";
    facts.client_address = "127.0.0.1";
    ig::set_forward_headers(f, policy, facts);
    BOOST_TEST(f["X-Device-Id"] == id);
    BOOST_TEST(f["X-Intune-Outcome"] == "Compliant");
    BOOST_TEST(f["X-Intune-Compliance-State"] == "compliant");
    BOOST_TEST(ig::test::base64url_decode(f["X-Intune-Device"]).value() == v.device_json);
    BOOST_TEST(ig::test::base64url_decode(f["X-Intune-Installed-Apps"]).value() == *v.apps_json);
    BOOST_TEST(f["X-Intune-Device"].find('=') == std::string_view::npos);
    BOOST_TEST(f["X-Request-Id"] == "0123456789abcdef0123456789abcdef");
    BOOST_TEST(f["X-Forwarded-For"] == "127.0.0.1");
    BOOST_TEST(f["X-Forwarded-Proto"] == "https");
    BOOST_TEST(f["X-Auth-Level"] == "2");
    BOOST_TEST(!has(f, "X-Intune-Error"));
    BOOST_TEST(!has(f, "X-Intune-Installed-Apps-Truncated"));
    BOOST_TEST(!has(f, "X-Intune-Device-Truncated"));
    BOOST_TEST(f.count("X-Intune-Outcome") == 1);
    check_clean(f);
}

BOOST_AUTO_TEST_CASE(truncation_markers_are_set_and_never_taken_from_the_client) {
    const auto cfg = make_config();
    const auto policy = ig::make_header_policy(cfg);
    http::fields f;
    f.insert("X-Intune-Installed-Apps-Truncated", "0");  // a client's claim
    f.insert("X-Intune-Device-Truncated", "0");
    ig::strip_client_headers(f, policy);
    BOOST_TEST(!has(f, "X-Intune-Installed-Apps-Truncated"));
    ig::Verdict v;
    v.outcome = ig::Outcome::Compliant;
    v.device_json = R"({"id":"x"})";
    v.device_truncated = 57;
    v.apps_json = R"([{"displayName":"Word","version":"16","publisher":"Microsoft"}])";
    v.apps_truncated = 300;
    ig::ForwardFacts facts;
    facts.outcome = v.outcome;
    facts.verdict = &v;
    facts.request_id = "0123456789abcdef0123456789abcdef";
    facts.client_address = "127.0.0.1";
    ig::set_forward_headers(f, policy, facts);
    BOOST_TEST(f["X-Intune-Installed-Apps-Truncated"] == "300");
    BOOST_TEST(f["X-Intune-Device-Truncated"] == "57");
    BOOST_TEST(f.count("X-Intune-Installed-Apps-Truncated") == 1);
    check_clean(f);
}

BOOST_AUTO_TEST_CASE(error_and_hostile_values) {
    const auto cfg = make_config();
    const auto policy = ig::make_header_policy(cfg);
    ig::Verdict v;
    v.outcome = ig::Outcome::Error;
    v.compliance_state = "err\r\nX-Evil: 1";
    v.reason = "graph unreachable\r\nX-Evil: 2";
    ig::ForwardFacts facts;
    facts.outcome = v.outcome;
    facts.verdict = &v;
    facts.request_id = "r";
    facts.client_address = "::1";
    http::fields f;
    ig::set_forward_headers(f, policy, facts);
    BOOST_TEST(!has(f, "X-Device-Id"));
    BOOST_TEST(!has(f, "X-Evil"));
    BOOST_TEST(f["X-Intune-Error"] == "graph unreachableX-Evil: 2");
    BOOST_TEST(f["X-Intune-Compliance-State"] == "errX-Evil: 1");
    check_clean(f);

    http::fields g;
    facts.outcome = ig::Outcome::InGracePeriod;
    ig::set_forward_headers(g, policy, facts);
    BOOST_TEST(g["X-Grace"] == "yesX-Evil: 1");
    BOOST_TEST(!has(g, "X-Auth-Level"));
    check_clean(g);
}
