#define BOOST_TEST_MODULE cert_header
#include <boost/test/unit_test.hpp>

#include "core/identity/cert_header.hpp"
#include "core/identity/device_id.hpp"
#include "core/tls/openssl_ptr.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>

// Each proxy's form is built here from a certificate exactly the way that proxy builds it (quoted
// from its documentation or source), and real header values from the wild are kept as fixtures
// under tests/fixtures/authz/ with their source.

namespace {

using ig::BioPtr;
using ig::EvpPkeyPtr;
using ig::GeneralNamesPtr;
using ig::OpenSslBytes;
using ig::X509Ptr;
const std::string guid = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";

// A self-signed certificate with SAN URI IntuneDeviceId://<guid> (signature irrelevant here).
X509Ptr make_cert(const std::string& cn, const std::string& uri) {
    X509Ptr cert(X509_new());
    X509_set_version(cert.get(), 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 7);
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.data()),
                               static_cast<int>(cn.size()), -1, 0);
    X509_set_issuer_name(cert.get(), name);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 3600);
    GeneralNamesPtr names(GENERAL_NAMES_new());
    GENERAL_NAME* gn = GENERAL_NAME_new();
    ASN1_IA5STRING* s = ASN1_IA5STRING_new();
    ASN1_STRING_set(s, uri.data(), static_cast<int>(uri.size()));
    GENERAL_NAME_set0_value(gn, GEN_URI, s);
    sk_GENERAL_NAME_push(names.get(), gn);
    X509_add1_ext_i2d(cert.get(), NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT);
    EvpPkeyPtr key(EVP_EC_gen("P-256"));
    X509_set_pubkey(cert.get(), key.get());
    X509_sign(cert.get(), key.get(), EVP_sha256());
    return cert;
}

std::string der_of(X509* cert) {
    unsigned char* buf = nullptr;
    const int n = i2d_X509(cert, &buf);
    const OpenSslBytes owned(buf);
    return std::string(reinterpret_cast<char*>(buf), static_cast<std::size_t>(n));
}

std::string pem_of(X509* cert) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    PEM_write_bio_X509(bio.get(), cert);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(n));
}

std::string base64(const std::string& bytes) {
    std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

// nginx's $ssl_client_escaped_cert: ngx_escape_uri(..., NGX_ESCAPE_URI_COMPONENT) keeps only
// unreserved characters; '+', '/', '=', ' ' and the line feeds become %XX.
std::string nginx_escape(const std::string& s) {
    static const char hex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            out.push_back(static_cast<char>(c));
        } else {
            out.push_back('%');
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 15]);
        }
    }
    return out;
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
    for (std::size_t p = 0; (p = s.find(from, p)) != std::string::npos; p += to.size()) s.replace(p, from.size(), to);
    return s;
}

std::string fixture(const std::string& name) {
    std::ifstream in(std::string(IG_SOURCE_DIR) + "/tests/fixtures/authz/" + name);
    BOOST_REQUIRE(in);
    std::string line, value;
    while (std::getline(in, line))
        if (!line.empty() && line[0] != '#') value += line;
    return value;
}

X509Ptr parse(const std::string& der) {
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    return X509Ptr(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
}

std::string san_uri(X509* cert) {
    GeneralNamesPtr names(static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
    std::string out;
    for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
        const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names.get(), i);
        if (gn->type == GEN_URI)
            out.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(gn->d.uniformResourceIdentifier)),
                       static_cast<std::size_t>(ASN1_STRING_length(gn->d.uniformResourceIdentifier)));
    }
    return out;
}

struct Certs {
    X509Ptr leaf = make_cert("device-1", "IntuneDeviceId://" + guid);
    X509Ptr other = make_cert("issuing-ca", "IntuneDeviceId://00000000-0000-4000-8000-000000000000");
    std::string der = der_of(leaf.get());
    std::string pem = pem_of(leaf.get());
};

void expect_leaf(const std::string& value, ig::CertHeaderForm form, const Certs& c) {
    auto got = ig::certificate_from_header(value);
    BOOST_REQUIRE_MESSAGE(got, "no certificate from: " << value.substr(0, 80));
    BOOST_TEST(got->der == c.der);
    BOOST_TEST(ig::to_string(got->form) == ig::to_string(form));
    // ... and the device ID comes out of it with the front end's own function.
    auto cert = parse(got->der);
    BOOST_REQUIRE(cert);
    BOOST_TEST(ig::device_id_from_certificate(cert.get(), ig::DeviceIdConfig{}).value_or("") == guid);
}

}  // namespace

BOOST_AUTO_TEST_CASE(rfc9440_byte_sequence) {
    Certs c;
    expect_leaf(":" + base64(c.der) + ":", ig::CertHeaderForm::Rfc9440, c);
}

BOOST_AUTO_TEST_CASE(rfc9440_example_from_the_rfc) {
    auto got = ig::certificate_from_header(fixture("rfc9440-client-cert.txt"));
    BOOST_REQUIRE(got);
    BOOST_TEST(ig::to_string(got->form) == "rfc9440");
    auto cert = parse(got->der);
    BOOST_REQUIRE(cert);
    char cn[64] = {};
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert.get()), NID_commonName, cn, sizeof cn);
    BOOST_TEST(std::string(cn) == "BC");
}

// Caddy: {http.request.tls.client.certificate_der_base64} is base64.StdEncoding of the leaf's DER;
// HAProxy: %[ssl_c_der,base64] is the same bytes.
BOOST_AUTO_TEST_CASE(bare_base64_der_caddy_haproxy) {
    Certs c;
    expect_leaf(base64(c.der), ig::CertHeaderForm::Base64Der, c);
    expect_leaf("  " + base64(c.der) + "\t", ig::CertHeaderForm::Base64Der, c);
}

// Traefik passTLSClientCert (pkg/middlewares/passtlsclientcert/pass_tls_client_cert.go):
//   sanitize() replaces "-----BEGIN CERTIFICATE-----", "-----END CERTIFICATE-----" and "\n" with ""
//   getCertificates() joins the peer certificates with certSeparator = ","
// so X-Forwarded-Tls-Client-Cert is the leaf's base64 DER, then ",<next>" for each chain member.
BOOST_AUTO_TEST_CASE(traefik_pass_tls_client_cert_chain) {
    Certs c;
    auto traefik = [](const std::string& pem) {
        return replace_all(
            replace_all(replace_all(pem, "-----BEGIN CERTIFICATE-----", ""), "-----END CERTIFICATE-----", ""), "\n",
            "");
    };
    const std::string value = traefik(c.pem) + "," + traefik(pem_of(c.other.get()));
    BOOST_TEST(value.find(',') != std::string::npos);
    expect_leaf(value, ig::CertHeaderForm::Base64Der, c);
}

// nginx $ssl_client_escaped_cert (percent-encoded PEM); AWS ALB X-Amzn-Mtls-Clientcert is the
// same idea.
BOOST_AUTO_TEST_CASE(percent_encoded_pem_nginx) {
    Certs c;
    const auto value = nginx_escape(c.pem);
    BOOST_TEST(value.find("%0A") != std::string::npos);
    BOOST_TEST((value.find("%2B") != std::string::npos || value.find("%2F") != std::string::npos ||
                value.find("%3D") != std::string::npos));
    expect_leaf(value, ig::CertHeaderForm::Pem, c);
}

// PEM whose line breaks a proxy turned into spaces, or nginx's old $ssl_client_cert (every line
// but the first prefixed with a tab, the line breaks folded away by the HTTP parser).
BOOST_AUTO_TEST_CASE(pem_with_spaces_or_tabs) {
    Certs c;
    expect_leaf(replace_all(c.pem, "\n", " "), ig::CertHeaderForm::Pem, c);
    expect_leaf(replace_all(c.pem, "\n", "\t"), ig::CertHeaderForm::Pem, c);
    expect_leaf(replace_all(c.pem, "\n", " \t"), ig::CertHeaderForm::Pem, c);
    // A chain in PEM: the first certificate is the leaf.
    expect_leaf(replace_all(c.pem + pem_of(c.other.get()), "\n", " "), ig::CertHeaderForm::Pem, c);
}

// Envoy: "Cert  The entire client certificate in URL encoded PEM format"; elements separated by ','
// (one per proxy, the nearest one last), pairs by ';', values with ',', ';' or '=' double-quoted
// with \" for a quote; Envoy quotes Cert, Chain and Subject and leaves By, Hash, URI, DNS bare.
BOOST_AUTO_TEST_CASE(envoy_xfcc_last_element) {
    Certs c;
    const std::string mine = "By=spiffe://cluster.local/ns/gate/sa/intune-gate;Hash=abc;Cert=\"" + nginx_escape(c.pem) +
                             "\";Subject=\"CN=device-1,O=a;b=c \\\"quoted\\\"\";URI=IntuneDeviceId://" + guid +
                             ";DNS=laptop.example";
    const std::string earlier = "By=spiffe://edge;Hash=def;Cert=\"" + nginx_escape(pem_of(c.other.get())) +
                                "\";Subject=\"\";URI=spiffe://edge/x?a=b";
    expect_leaf(mine, ig::CertHeaderForm::Xfcc, c);
    expect_leaf(earlier + "," + mine, ig::CertHeaderForm::Xfcc, c);
    // Keys are case-insensitive.
    expect_leaf("cert=\"" + nginx_escape(c.pem) + "\"", ig::CertHeaderForm::Xfcc, c);
}

BOOST_AUTO_TEST_CASE(envoy_xfcc_real_two_hop_value) {
    auto got = ig::certificate_from_header(fixture("envoy-xfcc-two-hops.txt"));
    BOOST_REQUIRE(got);
    BOOST_TEST(ig::to_string(got->form) == "xfcc");
    auto cert = parse(got->der);
    BOOST_REQUIRE(cert);
    BOOST_TEST(san_uri(cert.get()) == "spiffe://ca9857da-71aa-c5be-ec8f-abcd90cae693.consul/gateway/mesh/dc/alpha");
}

BOOST_AUTO_TEST_CASE(envoy_xfcc_without_cert_is_no_certificate) {
    BOOST_TEST(!ig::certificate_from_header(fixture("envoy-xfcc-docs-no-cert.txt")));
    Certs c;
    // The last element has no Cert=: an earlier element's certificate is not taken instead.
    BOOST_TEST(!ig::certificate_from_header("Cert=\"" + nginx_escape(c.pem) + "\",By=spiffe://x;Hash=abc"));
    // Two Cert= in one element: no choosing.
    BOOST_TEST(
        !ig::certificate_from_header("Cert=\"" + nginx_escape(c.pem) + "\";Cert=\"" + nginx_escape(c.pem) + "\""));
    // An unterminated quote.
    BOOST_TEST(!ig::certificate_from_header("Cert=\"" + nginx_escape(c.pem)));
}

BOOST_AUTO_TEST_CASE(garbage_never_yields_a_certificate) {
    const std::string garbage[] = {"",
                                   "   ",
                                   "hello",
                                   "::",
                                   ":!!!!:",
                                   ":",
                                   "-----BEGIN CERTIFICATE-----",
                                   "-----BEGIN CERTIFICATE----- @@@@ -----END CERTIFICATE-----",
                                   "-----BEGIN%20CERTIFICATE-----%ZZ",
                                   "Cert=",
                                   "Cert=\"%\"",
                                   "By=;Hash=;;;,,,",
                                   "MIIB",
                                   "MII=====",
                                   std::string(100000, '%'),
                                   std::string("\0\0\0\0", 4)};
    for (const auto& g : garbage) {
        auto got = ig::certificate_from_header(g);
        // Either nothing, or bytes that are not a certificate (the verifier refuses those).
        if (got) BOOST_TEST(!parse(got->der), "garbage parsed as a certificate: " << g.substr(0, 40));
    }
    // 100 kB of valid base64 decodes, but is no certificate.
    auto big = ig::certificate_from_header(std::string(100000, 'A'));
    if (big) BOOST_TEST(!parse(big->der));
}
