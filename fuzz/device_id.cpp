// Device-ID extraction from a client certificate, as the TLS handshake hands it over: DER bytes
// from the client, then the SAN URI and subject CN sources. An ID, when found, must be a
// normalised GUID.
#include "core/identity/device_id.hpp"
#include "core/tls/openssl_ptr.hpp"

#include <openssl/x509.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>

namespace {
bool is_normalised_guid(const std::string& id) {
    if (id.size() != 36) return false;
    for (std::size_t i = 0; i < id.size(); ++i) {
        const char c = id[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-') return false;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return false;
        }
    }
    return true;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const unsigned char* p = data;
    const ig::X509Ptr owned(d2i_X509(nullptr, &p, static_cast<long>(size)));
    X509* cert = owned.get();
    if (!cert) return 0;
    static const ig::DeviceIdConfig both;  // san_uri, then subject_cn, scheme IntuneDeviceId
    static const ig::DeviceIdConfig cn_first = [] {
        ig::DeviceIdConfig c;
        c.sources = {ig::IdSource::SubjectCn, ig::IdSource::SanUri};
        c.san_uri_scheme = "urn";
        return c;
    }();
    for (const auto* config : {&both, &cn_first}) {
        if (auto id = ig::device_id_from_certificate(cert, *config); id && !is_normalised_guid(*id)) std::abort();
    }
    return 0;
}
