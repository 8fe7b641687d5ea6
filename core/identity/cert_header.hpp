#pragma once
// The client certificate that a reverse proxy passes to the authorization endpoint in a request
// header, recognised by its form (not by the header's name):
//   RFC 9440 byte sequence       :BASE64-DER:                   (Client-Cert)
//   bare base64 DER              MIIB...  or a comma-separated chain, leaf first
//                                (Caddy {http.request.tls.client.certificate_der_base64},
//                                 Traefik passTLSClientCert pem, HAProxy %[ssl_c_der,base64])
//   PEM                          line breaks as spaces or tabs, or percent-encoded
//                                (nginx $ssl_client_cert / $ssl_client_escaped_cert, AWS ALB)
//   Envoy x-forwarded-client-cert  the LAST element's Cert= (quoted, percent-encoded PEM)
// Pure text work: nothing here verifies the certificate (see proxy/tls/cert_verify.hpp).
#include <optional>
#include <string>
#include <string_view>

namespace ig {

enum class CertHeaderForm { Rfc9440, Base64Der, Pem, Xfcc };

struct CertFromHeader {
    std::string der;  // the leaf certificate's DER bytes (not parsed: the verifier does that)
    CertHeaderForm form = CertHeaderForm::Base64Der;
};

// nullopt when the value holds no recognisable certificate (garbage, an XFCC without Cert=, bad
// base64 or percent-encoding). Never throws for any input.
std::optional<CertFromHeader> certificate_from_header(std::string_view value);

std::string_view to_string(CertHeaderForm form);

}  // namespace ig
