// identify_from_headers(): which device a check's certificate header names, or why the check is
// refused outright (ambiguous header, proxy's verify header missing, certificate not verified).
#define BOOST_TEST_MODULE authz_request
#include <boost/test/unit_test.hpp>

#include "proxy/plugin/authz_request.hpp"
#include "proxy/tls/cert_verify.hpp"
#include "tests/support/test_pki.hpp"

#include <boost/beast/http/fields.hpp>

#include <fstream>
#include <sstream>

namespace http = boost::beast::http;

namespace {

std::string pem_of(const std::string& name) {
    std::ifstream in(ig::test::test_pki() / (name + ".crt"));
    std::ostringstream text;
    text << in.rdbuf();
    BOOST_REQUIRE(!text.str().empty());
    return text.str();
}

// nginx's $ssl_client_escaped_cert form: the PEM, URL-escaped, so it fits in one header line.
std::string escaped_pem_of(const std::string& name) {
    std::string out;
    for (char c : pem_of(name)) {
        if (c == '\n')
            out += "%0A";
        else if (c == ' ')
            out += "%20";
        else if (c == '+')
            out += "%2B";
        else if (c == '/')
            out += "%2F";
        else if (c == '=')
            out += "%3D";
        else
            out += c;
    }
    return out;
}

struct Fixture {
    ig::AuthzConfig authz;
    ig::CertVerifier verifier{[] {
        ig::TlsConfig tls;
        tls.client_ca = ig::test::test_pki() / "device-ca.crt";
        tls.crl = ig::test::test_pki() / "device-ca.crl";
        return tls;
    }()};
    ig::DeviceIdConfig device_id;

    ig::HeaderIdentity identify(const http::fields& f) const {
        return ig::identify_from_headers(f, authz, verifier, device_id);
    }
};

}  // namespace

BOOST_FIXTURE_TEST_SUITE(identify, Fixture)

BOOST_AUTO_TEST_CASE(no_header_is_no_id_without_certificate) {
    http::fields f;
    auto who = identify(f);
    BOOST_TEST(!who.refusal);
    BOOST_TEST(who.no_certificate);
    BOOST_TEST(!who.device_id);
    BOOST_TEST(who.reason == "no client certificate");
}

BOOST_AUTO_TEST_CASE(a_verified_certificate_names_its_device) {
    http::fields f;
    f.set("Client-Cert", escaped_pem_of("device-compliant"));
    auto who = identify(f);
    BOOST_TEST(!who.refusal);
    BOOST_TEST(!who.no_certificate);
    BOOST_TEST(who.device_id.value_or("") == "3f2504e0-4f89-41d3-9a0c-0305e82c3301");
}

BOOST_AUTO_TEST_CASE(two_certificate_headers_are_refused) {
    http::fields f;
    f.insert("Client-Cert", escaped_pem_of("device-compliant"));
    f.insert("X-SSL-Client-Cert", escaped_pem_of("device-noncompliant"));
    auto who = identify(f);
    BOOST_TEST(who.refusal.has_value());
    BOOST_TEST((who.refusal == ig::AuthzResult::AmbiguousCertificate));
    BOOST_TEST(!who.device_id);
}

BOOST_AUTO_TEST_CASE(a_missing_verify_header_refuses_even_a_good_certificate) {
    authz.verify_header = std::pair<std::string, std::string>{"X-Client-Verify", "SUCCESS"};
    http::fields f;
    f.set("Client-Cert", escaped_pem_of("device-compliant"));
    auto who = identify(f);
    BOOST_TEST((who.refusal == ig::AuthzResult::CertificateNotVerified));
    BOOST_TEST(!who.detail.empty());
    BOOST_TEST(!who.device_id);

    f.set("X-Client-Verify", "SUCCESS");
    who = identify(f);
    BOOST_TEST(!who.refusal);
    BOOST_TEST(who.device_id.has_value());
}

BOOST_AUTO_TEST_CASE(certificates_the_ca_does_not_vouch_for_are_refused) {
    for (const char* name : {"device-other-ca", "device-expired", "device-revoked"}) {
        http::fields f;
        f.set("Client-Cert", escaped_pem_of(name));
        auto who = identify(f);
        BOOST_TEST((who.refusal == ig::AuthzResult::CertificateNotVerified), name);
        BOOST_TEST(who.reason == "certificate not verified", name);
        BOOST_TEST(!who.detail.empty(), name);
        BOOST_TEST(!who.device_id, name);
    }
}

BOOST_AUTO_TEST_CASE(a_verified_certificate_without_device_id_is_no_id) {
    http::fields f;
    f.set("Client-Cert", escaped_pem_of("device-noid"));
    auto who = identify(f);
    BOOST_TEST(!who.refusal);
    BOOST_TEST(!who.no_certificate);
    BOOST_TEST(!who.device_id);
    BOOST_TEST(who.reason == "no valid device id in the client certificate");
}

BOOST_AUTO_TEST_CASE(unreadable_headers_are_no_id_without_certificate) {
    for (const char* value :
         {"not a certificate", "-----BEGIN%20CERTIFICATE-----%0AAAAA%0A-----END%20CERTIFICATE-----"}) {
        http::fields f;
        f.set("Client-Cert", value);
        auto who = identify(f);
        BOOST_TEST(!who.refusal, value);
        BOOST_TEST(who.no_certificate, value);
        BOOST_TEST(who.reason == "unreadable client certificate header", value);
    }
}

BOOST_AUTO_TEST_SUITE_END()
