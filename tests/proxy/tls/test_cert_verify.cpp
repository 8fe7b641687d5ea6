// The plugin-mode certificate check: the gateway's own verification against client_ca + CRL
// (time included), the device ID from the same function as the front end, and the per-DER memo.
#define BOOST_TEST_MODULE cert_verify
#include <boost/test/unit_test.hpp>

#include "proxy/tls/cert_verify.hpp"
#include "proxy/tls/client_ca_store.hpp"
#include "tests/support/test_pki.hpp"

#include <openssl/pem.h>

#include <unistd.h>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

namespace fs = std::filesystem;

namespace {

const fs::path& pki() { return ig::test::test_pki(); }

std::string der_of(const std::string& name) { return ig::test::test_pki_der(name); }

ig::TlsConfig tls(bool with_crl) {
    ig::TlsConfig t;
    t.client_ca = pki() / "device-ca.crt";
    if (with_crl) t.crl = pki() / "device-ca.crl";
    return t;
}

}  // namespace

BOOST_AUTO_TEST_CASE(verified_device_gets_its_id) {
    ig::CertVerifier v(tls(true));
    auto c = v.check(der_of("device-compliant"), ig::DeviceIdConfig{});
    BOOST_TEST(c.status == ig::CertCheck::Verified);
    BOOST_TEST(c.device_id.value_or("") == "3f2504e0-4f89-41d3-9a0c-0305e82c3301");
    // Remembered: the same answer again.
    auto again = v.check(der_of("device-compliant"), ig::DeviceIdConfig{});
    BOOST_TEST(again.status == ig::CertCheck::Verified);
    BOOST_TEST(again.device_id.value_or("") == c.device_id.value_or("-"));
    auto noid = v.check(der_of("device-noid"), ig::DeviceIdConfig{});
    BOOST_TEST(noid.status == ig::CertCheck::Verified);
    BOOST_TEST(!noid.device_id);
}

BOOST_AUTO_TEST_CASE(unverified_certificates) {
    ig::CertVerifier v(tls(true));
    for (const char* name : {"device-other-ca", "device-expired", "device-revoked"}) {
        for (int round = 0; round < 2; ++round) {  // the second answer comes from the memo
            auto c = v.check(der_of(name), ig::DeviceIdConfig{});
            BOOST_TEST(c.status == ig::CertCheck::NotVerified, name);
            BOOST_TEST(!c.error.empty());
            BOOST_TEST(!c.device_id);
        }
    }
    // Without the CRL the revoked one verifies: the CRL is what refuses it.
    ig::CertVerifier no_crl(tls(false));
    BOOST_TEST(no_crl.check(der_of("device-revoked"), ig::DeviceIdConfig{}).status == ig::CertCheck::Verified);
}

// Issue 26 item 9: the front end's handshake refuses a SHA-1 signed device certificate as a weak
// signature; the header's verification refuses it too (the same security level).
BOOST_AUTO_TEST_CASE(a_weak_signature_is_refused_as_in_the_handshake) {
    BOOST_TEST_REQUIRE(ig::handshake_security_level() >= 1);
    ig::CertVerifier v(tls(true));
    auto c = v.check(der_of("device-sha1"), ig::DeviceIdConfig{});
    BOOST_TEST(c.status == ig::CertCheck::NotVerified);
    BOOST_TEST(c.error.find("too weak") != std::string::npos, c.error);
    BOOST_TEST(!c.device_id);
    // The same CA signs with SHA-256: that one verifies.
    BOOST_TEST(v.check(der_of("device-compliant"), ig::DeviceIdConfig{}).status == ig::CertCheck::Verified);
}

BOOST_AUTO_TEST_CASE(not_a_certificate) {
    ig::CertVerifier v(tls(false));
    BOOST_TEST(v.check("", ig::DeviceIdConfig{}).status == ig::CertCheck::NotCertificate);
    BOOST_TEST(v.check("garbage bytes", ig::DeviceIdConfig{}).status == ig::CertCheck::NotCertificate);
    // A certificate with trailing bytes is not taken either.
    BOOST_TEST(v.check(der_of("device-compliant") + "x", ig::DeviceIdConfig{}).status == ig::CertCheck::NotCertificate);
}

BOOST_AUTO_TEST_CASE(unreadable_ca_names_the_file) {
    ig::TlsConfig t;
    t.client_ca = "/nonexistent/ca.pem";
    BOOST_CHECK_EXCEPTION(ig::CertVerifier{t}, std::runtime_error, [](const std::runtime_error& e) {
        return std::string(e.what()).find("/nonexistent/ca.pem") != std::string::npos;
    });
}

// Issue 26 #6: 9,900 random 11.5 kB headers took the memo to 10,000 keys of 11.5 kB each (RSS 13 MB
// to 127 MB). Bytes that are not a certificate are not remembered; a certificate is remembered
// under its 32-byte digest, whatever its size; the memo stays within its bytes.
BOOST_AUTO_TEST_CASE(the_memo_holds_certificates_only_under_a_digest) {
    ig::CertVerifier v(tls(true));
    std::string junk(11'500, 'x');
    for (int i = 0; i < 2000; ++i) {
        junk.replace(0, 8, std::to_string(10'000'000 + i));
        BOOST_TEST_REQUIRE(v.check(junk, ig::DeviceIdConfig{}).status == ig::CertCheck::NotCertificate);
    }
    BOOST_TEST(v.remembered_count() == 0u);
    // A certificate with bytes after it is not one either.
    BOOST_TEST(v.check(der_of("device-compliant") + std::string(11'000, '\0'), ig::DeviceIdConfig{}).status ==
               ig::CertCheck::NotCertificate);
    BOOST_TEST(v.remembered_count() == 0u);
    for (const char* name : {"device-compliant", "device-noid", "device-other-ca", "device-revoked"})
        v.check(der_of(name), ig::DeviceIdConfig{});
    BOOST_TEST(v.remembered_count() == 4u);
    BOOST_TEST(v.remembered_bytes() > 0u);
    BOOST_TEST(v.remembered_bytes() < 4u * 512u);  // a digest and a short result each, not the DER
    BOOST_TEST(v.remembered_bytes() <= ig::CertVerifier::max_remembered_bytes);
    // Still answered right from the memo.
    BOOST_TEST(v.check(der_of("device-revoked"), ig::DeviceIdConfig{}).status == ig::CertCheck::NotVerified);
    BOOST_TEST(v.check(der_of("device-compliant"), ig::DeviceIdConfig{}).device_id.value_or("") ==
               "3f2504e0-4f89-41d3-9a0c-0305e82c3301");
}
