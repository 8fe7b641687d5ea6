#define BOOST_TEST_MODULE device_id
#include <boost/test/unit_test.hpp>

#include "core/identity/device_id.hpp"
#include "core/tls/openssl_ptr.hpp"

#include <openssl/x509v3.h>

#include <memory>
#include <string>
#include <vector>

namespace {

using ig::GeneralNamesPtr;
using ig::X509Ptr;

// A bare certificate with the given subject CN (raw bytes, may be empty = none) and SAN URIs.
X509Ptr make_cert(const std::string& cn, const std::vector<std::string>& uris, bool dns_san = false) {
    X509Ptr cert(X509_new());
    X509_set_version(cert.get(), 2);
    X509_NAME* name = X509_get_subject_name(cert.get());
    if (!cn.empty())
        X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_ASC,
                                   reinterpret_cast<const unsigned char*>(cn.data()), static_cast<int>(cn.size()), -1,
                                   0);
    if (!uris.empty() || dns_san) {
        GeneralNamesPtr names(GENERAL_NAMES_new());
        if (dns_san) {
            GENERAL_NAME* gn = GENERAL_NAME_new();
            ASN1_IA5STRING* s = ASN1_IA5STRING_new();
            ASN1_STRING_set(s, "3f2504e0-4f89-41d3-9a0c-0305e82c3301", -1);
            GENERAL_NAME_set0_value(gn, GEN_DNS, s);
            sk_GENERAL_NAME_push(names.get(), gn);
        }
        for (const auto& uri : uris) {
            GENERAL_NAME* gn = GENERAL_NAME_new();
            ASN1_IA5STRING* s = ASN1_IA5STRING_new();
            ASN1_STRING_set(s, uri.data(), static_cast<int>(uri.size()));
            GENERAL_NAME_set0_value(gn, GEN_URI, s);
            sk_GENERAL_NAME_push(names.get(), gn);
        }
        X509_add1_ext_i2d(cert.get(), NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT);
    }
    return cert;
}

ig::DeviceIdConfig config(std::vector<ig::IdSource> sources = {ig::IdSource::SanUri, ig::IdSource::SubjectCn}) {
    ig::DeviceIdConfig c;
    c.sources = std::move(sources);
    return c;
}

const std::string guid = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";

}  // namespace

BOOST_AUTO_TEST_CASE(normalize_guid_accepts_and_lowercases) {
    BOOST_TEST(ig::normalize_guid("3F2504E0-4F89-41D3-9A0C-0305E82C3301").value() == guid);
    BOOST_TEST(ig::normalize_guid(guid).value() == guid);
}

BOOST_AUTO_TEST_CASE(normalize_guid_rejects_everything_else) {
    for (std::string_view bad : {"", "not-a-guid", "3f2504e0-4f89-41d3-9a0c-0305e82c330",
                                 "3f2504e0-4f89-41d3-9a0c-0305e82c33011", "3f2504e04f8941d39a0c0305e82c3301",
                                 "{3f2504e0-4f89-41d3-9a0c-0305e82c3301}", "3f2504e0-4f89-41d3-9a0c_0305e82c3301",
                                 "3g2504e0-4f89-41d3-9a0c-0305e82c3301", " 3f2504e0-4f89-41d3-9a0c-0305e82c330",
                                 "3f2504e0-4f89-41d3-9a0c-0305e82c%33", "3f2504e0-4f89-41d3-9a0c-0305e82c33\r\n"}) {
        BOOST_TEST(!ig::normalize_guid(bad).has_value(), "accepted: " << bad);
    }
    const std::string with_nul("3f2504e0-4f89-41d3-9a0c-0305e82c330\0", 36);
    BOOST_TEST(!ig::normalize_guid(with_nul).has_value());
}

BOOST_AUTO_TEST_CASE(san_uri_scheme_is_case_insensitive) {
    auto cert = make_cert("", {"intunedeviceid://3F2504E0-4F89-41D3-9A0C-0305E82C3301"});
    BOOST_TEST(ig::device_id_from_certificate(cert.get(), config()).value() == guid);
}

BOOST_AUTO_TEST_CASE(san_uri_picks_the_matching_guid) {
    auto cert = make_cert("", {"https://example.com/x", "IntuneDeviceId://not-a-guid",
                               "IntuneDeviceId://3f2504e0-4f89-41d3-9a0c-0305e82c3302",
                               "IntuneDeviceId://3F2504E0-4F89-41D3-9A0C-0305E82C3302"});
    BOOST_TEST(ig::device_id_from_certificate(cert.get(), config()).value() == "3f2504e0-4f89-41d3-9a0c-0305e82c3302");
}

// Vendors put the Intune or the Entra ID device ID under the same scheme: two different IDs there
// cannot be told apart, and the CN is not asked instead (docs/configuration.md: `device_id.lookup`).
BOOST_AUTO_TEST_CASE(two_different_san_uri_ids_are_no_id) {
    auto cert =
        make_cert("3f2504e0-4f89-41d3-9a0c-0305e82c3309", {"IntuneDeviceId://3f2504e0-4f89-41d3-9a0c-0305e82c3302",
                                                           "IntuneDeviceId://3f2504e0-4f89-41d3-9a0c-0305e82c3303"});
    BOOST_TEST(!ig::device_id_from_certificate(cert.get(), config()).has_value());
    BOOST_TEST(!ig::find_device_id(cert.get(), config()).has_value());
    // Without the SAN source the CN decides.
    BOOST_TEST(ig::device_id_from_certificate(cert.get(), config({ig::IdSource::SubjectCn})).value() ==
               "3f2504e0-4f89-41d3-9a0c-0305e82c3309");
}

BOOST_AUTO_TEST_CASE(san_uri_hostile_values_are_no_id) {
    for (const std::string& uri :
         std::vector<std::string>{"IntuneDeviceId://3f2504e0-4f89-41d3-9a0c-0305e82c3301%0D%0AX-Evil:%201",
                                  "IntuneDeviceId://3f2504e0-4f89-41d3-9a0c-0305e82c3301\r\nX-Evil: 1",
                                  std::string("IntuneDeviceId://3f2504e0-4f89-41d3-9a0c-0305e82c3301\0", 55),
                                  "IntuneDeviceId://" + std::string(5000, 'a'), "IntuneDeviceId://",
                                  "IntuneDeviceId:3f2504e0-4f89-41d3-9a0c-0305e82c3301",
                                  "OtherScheme://3f2504e0-4f89-41d3-9a0c-0305e82c3301",
                                  "IntuneDeviceIdX://3f2504e0-4f89-41d3-9a0c-0305e82c3301"}) {
        auto cert = make_cert("", {uri});
        BOOST_TEST(!ig::device_id_from_certificate(cert.get(), config({ig::IdSource::SanUri})).has_value());
    }
}

BOOST_AUTO_TEST_CASE(dns_san_is_not_a_source) {
    auto cert = make_cert("", {}, true);
    BOOST_TEST(!ig::device_id_from_certificate(cert.get(), config()).has_value());
}

BOOST_AUTO_TEST_CASE(subject_cn_must_be_a_guid) {
    auto good = make_cert("3F2504E0-4F89-41D3-9A0C-0305E82C3309", {});
    BOOST_TEST(ig::device_id_from_certificate(good.get(), config()).value() == "3f2504e0-4f89-41d3-9a0c-0305e82c3309");
    auto bad = make_cert("laptop-without-id", {});
    BOOST_TEST(!ig::device_id_from_certificate(bad.get(), config()).has_value());
    auto crlf = make_cert("3f2504e0-4f89-41d3-9a0c-0305e82c3301\r\nX-Evil: 1", {});
    BOOST_TEST(!ig::device_id_from_certificate(crlf.get(), config()).has_value());
    auto none = make_cert("", {});
    BOOST_TEST(!ig::device_id_from_certificate(none.get(), config()).has_value());
}

BOOST_AUTO_TEST_CASE(sources_are_tried_in_config_order) {
    auto cert = make_cert("3f2504e0-4f89-41d3-9a0c-0305e82c3309", {"IntuneDeviceId://" + guid});
    BOOST_TEST(ig::device_id_from_certificate(cert.get(), config()).value() == guid);
    BOOST_TEST(
        ig::device_id_from_certificate(cert.get(), config({ig::IdSource::SubjectCn, ig::IdSource::SanUri})).value() ==
        "3f2504e0-4f89-41d3-9a0c-0305e82c3309");
    BOOST_TEST(!ig::device_id_from_certificate(cert.get(), config({ig::IdSource::Header})).has_value());
    auto cn_only = make_cert("3f2504e0-4f89-41d3-9a0c-0305e82c3309", {});
    BOOST_TEST(!ig::device_id_from_certificate(cn_only.get(), config({ig::IdSource::SanUri})).has_value());
}

BOOST_AUTO_TEST_CASE(custom_scheme) {
    auto cert = make_cert("", {"IntuneDeviceId://" + guid, "MyId://3f2504e0-4f89-41d3-9a0c-0305e82c3304"});
    auto c = config();
    c.san_uri_scheme = "myid";
    BOOST_TEST(ig::device_id_from_certificate(cert.get(), c).value() == "3f2504e0-4f89-41d3-9a0c-0305e82c3304");
}

BOOST_AUTO_TEST_CASE(null_certificate) { BOOST_TEST(!ig::device_id_from_certificate(nullptr, config()).has_value()); }

BOOST_AUTO_TEST_CASE(request_id_header_only_from_trusted_peers) {
    ig::DeviceIdConfig c;
    c.sources = {ig::IdSource::Header, ig::IdSource::SanUri};
    std::string problem;
    c.trusted_peers = {*ig::parse_cidr("10.0.0.0/8", problem)};
    const auto proxy = boost::asio::ip::make_address("::ffff:10.1.2.3");
    const auto stranger = boost::asio::ip::make_address("192.0.2.1");
    BOOST_TEST(ig::header_trusted_from(c, proxy));
    BOOST_TEST(!ig::header_trusted_from(c, stranger));

    const std::string header_guid = "3F2504E0-4F89-41D3-9A0C-0305E82C3301";
    const std::optional<std::string> cert_id = "11111111-2222-3333-4444-555555555555";
    // Trusted: the header comes first (config order), lower-cased.
    BOOST_TEST(ig::request_device_id(c, cert_id, {true, header_guid}).value_or("") ==
               "3f2504e0-4f89-41d3-9a0c-0305e82c3301");
    // Untrusted, or no single header, or not a GUID: the next source (the certificate).
    BOOST_TEST(ig::request_device_id(c, cert_id, {false, header_guid}).value_or("") == *cert_id);
    BOOST_TEST(ig::request_device_id(c, cert_id, {true, std::nullopt}).value_or("") == *cert_id);
    BOOST_TEST(ig::request_device_id(c, cert_id, {true, "not-a-guid"}).value_or("") == *cert_id);
    BOOST_TEST(!ig::request_device_id(c, std::nullopt, {false, header_guid}));
    // Certificate first: the header is never read while the certificate has an ID.
    c.sources = {ig::IdSource::SanUri, ig::IdSource::Header};
    BOOST_TEST(ig::request_device_id(c, cert_id, {true, header_guid}).value_or("") == *cert_id);
    BOOST_TEST(ig::request_device_id(c, std::nullopt, {true, header_guid}).value_or("") ==
               "3f2504e0-4f89-41d3-9a0c-0305e82c3301");
    // Without the header source a trusted header is ignored.
    c.sources = {ig::IdSource::SubjectCn};
    BOOST_TEST(!ig::request_device_id(c, std::nullopt, {true, header_guid}));
}

BOOST_AUTO_TEST_CASE(a_repeated_trusted_header_is_ambiguous) {
    ig::DeviceIdConfig c;
    c.sources = {ig::IdSource::Header, ig::IdSource::SanUri};
    const std::optional<std::string> cert_id = "11111111-2222-3333-4444-555555555555";
    const ig::HeaderClaim twice{true, std::nullopt, 2};
    BOOST_TEST(ig::header_claim_ambiguous(c, twice));
    // No source decides, not even the certificate.
    BOOST_TEST(!ig::request_device_id(c, cert_id, twice));
    // Once, from an untrusted peer, or without the header source: not ambiguous.
    BOOST_TEST(!ig::header_claim_ambiguous(c, {true, "3f2504e0-4f89-41d3-9a0c-0305e82c3301", 1}));
    BOOST_TEST(!ig::header_claim_ambiguous(c, {false, std::nullopt, 2}));
    BOOST_TEST(ig::request_device_id(c, cert_id, {false, std::nullopt, 2}).value_or("") == *cert_id);
    c.sources = {ig::IdSource::SanUri};
    BOOST_TEST(!ig::header_claim_ambiguous(c, twice));
}
