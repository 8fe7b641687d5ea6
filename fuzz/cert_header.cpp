// Plugin mode: the client certificate a reverse proxy passes in a header value (RFC 9440,
// base64 DER or a chain, PEM with spaces or percent-encoded, Envoy XFCC), then, as the
// authorization endpoint does, the DER through OpenSSL and the device-ID sources. An ID, when
// found, must be a normalised GUID.
#include "core/identity/cert_header.hpp"
#include "core/identity/device_id.hpp"
#include "core/tls/openssl_ptr.hpp"

#include <openssl/x509.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view value(reinterpret_cast<const char*>(data), size);
    auto cert = ig::certificate_from_header(value);
    if (!cert) return 0;
    if (cert->der.empty() || ig::to_string(cert->form).empty()) std::abort();
    const auto* p = reinterpret_cast<const unsigned char*>(cert->der.data());
    const ig::X509Ptr x(d2i_X509(nullptr, &p, static_cast<long>(cert->der.size())));
    if (!x) return 0;
    static const ig::DeviceIdConfig config;
    if (auto id = ig::device_id_from_certificate(x.get(), config); id && ig::normalize_guid(*id) != *id) std::abort();
    return 0;
}
