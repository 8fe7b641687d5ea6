#define BOOST_TEST_MODULE header_names
#include <boost/test/unit_test.hpp>

#include "core/text/header_names.hpp"

// One list serves the config loader (names that cannot be configured) and the header step (names
// a client cannot send): these are the answers both rely on.

BOOST_AUTO_TEST_CASE(same_name_as_cgi_sees_it) {
    BOOST_TEST(ig::same_header_name("X-Intune-Outcome", "x_intune_outcome"));
    BOOST_TEST(ig::same_header_name("X-REQUEST-ID", "x-request-id"));
    BOOST_TEST(!ig::same_header_name("X-Intune-Outcome", "X-Intune-Outcomes"));
    BOOST_TEST(!ig::same_header_name("X-Intune-Outcome", "X.Intune.Outcome"));
}

BOOST_AUTO_TEST_CASE(hop_by_hop_and_framing) {
    for (auto name :
         {"Connection", "keep-alive", "TE", "Trailer", "UPGRADE", "Proxy-Connection", "proxy-authorization"})
        BOOST_TEST(ig::is_hop_by_hop(name), name);
    for (auto name : {"Host", "Content-Length", "Transfer-Encoding", "Trailers", "Proxy", "X-Connection", "Tee"})
        BOOST_TEST(!ig::is_hop_by_hop(name), name);
    for (auto name : {"host", "CONTENT-LENGTH", "transfer-encoding"}) BOOST_TEST(ig::is_framing_header(name), name);
    for (auto name : {"Content-Type", "Hosts", "Connection"}) BOOST_TEST(!ig::is_framing_header(name), name);
}

BOOST_AUTO_TEST_CASE(gateway_headers) {
    for (auto name : {"X-Intune-Outcome", "x_intune_anything", "X-Forwarded-For", "X_Forwarded_Host", "Forwarded",
                      "x-request-id", "X_Request_Id"})
        BOOST_TEST(ig::is_gateway_header(name), name);
    for (auto name : {"X-Intune", "X-Forwarded", "X-Request-Ids", "Authorization", "X-Device-Id"})
        BOOST_TEST(!ig::is_gateway_header(name), name);
    for (auto name : ig::own_headers) {
        BOOST_TEST(ig::is_own_header(name), name);
        BOOST_TEST(ig::is_gateway_header(name), name);
    }
    BOOST_TEST(ig::is_own_header("x_intune_installed_apps_truncated"));
    BOOST_TEST(!ig::is_own_header("X-Intune-Device-Id"));
}

// Issue 26: a client's own client-address headers never reach the upstream.
BOOST_AUTO_TEST_CASE(client_address_headers_are_the_gateways) {
    for (auto name : {"X-Real-IP", "x-real-ip", "X_Real_Ip", "True-Client-IP", "true_client_ip"})
        BOOST_TEST(ig::is_gateway_header(name), name);
    BOOST_TEST(!ig::is_gateway_header("X-Real-IPs"));
}

BOOST_AUTO_TEST_CASE(configured_outcome_header_names) {
    for (auto name : {"Host", "Content-Length", "Connection", "Proxy-Connection", "Forwarded", "X-Request-Id",
                      "X-Intune-Whatever", "X-Forwarded-Proto"})
        BOOST_TEST(ig::is_reserved_header(name, "X-Intune-Device-Id"), name);
    BOOST_TEST(ig::is_reserved_header("x_device_id", "X-Device-Id"));
    BOOST_TEST(!ig::is_reserved_header("X-Device-Id", ""));
    BOOST_TEST(!ig::is_reserved_header("X-Auth-Level", "X-Device-Id"));
}

BOOST_AUTO_TEST_CASE(device_id_header_names) {
    // The default and other names under X-Intune- that the gateway does not set are fine.
    BOOST_TEST(!ig::is_reserved_device_header("X-Intune-Device-Id"));
    BOOST_TEST(!ig::is_reserved_device_header("X-Intune-Client"));
    BOOST_TEST(!ig::is_reserved_device_header("X-Device-Id"));
    for (auto name : ig::own_headers) BOOST_TEST(ig::is_reserved_device_header(name), name);
    for (auto name : {"X_Intune_Outcome", "Host", "Upgrade", "X-Forwarded-For", "Forwarded", "X-Request-Id"})
        BOOST_TEST(ig::is_reserved_device_header(name), name);
}
