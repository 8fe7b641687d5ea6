// The "tls" section: the front end's certificate and key, the client CA, CRL and handshake settings.
#include "core/config/config_loader.hpp"

#include "core/config/config_pem.hpp"

namespace ig::config_load {

// Without the front end (listen: null) there is no TLS server: certificate and key may be left out.
void Loader::tls(const json* v, TlsConfig& out, bool front_end) {
    if (!v) return error("/tls", "is required");
    auto o = object(v, "/tls",
                    {"certificate", "private_key", "client_ca", "crl", "client_certificate", "min_version",
                     "session_cache", "session_timeout_s"});
    if (!o) return;
    auto cert = file(*o, "certificate", front_end);
    auto key = file(*o, "private_key", front_end || o->get("certificate"));
    auto ca = file(*o, "client_ca", true);
    auto crl = file(*o, "crl", false, true);
    certificate_and_key(cert, key, out.certificate, out.private_key);
    if (ca) {
        out.client_ca = ca->path;
        report(config_pem::check_ca_bundle(ca->path, ca->shown), ca->ptr);
    }
    if (crl) {
        out.crl = crl->path;
        report(config_pem::check_crl(crl->path, crl->shown, ca ? ca->path : fs::path()), crl->ptr);
    }
    if (auto c = choice(*o, "client_certificate", {"required", "optional"})) out.client_certificate_required = *c == 0;
    if (auto c = choice(*o, "min_version", {"1.2", "1.3"})) out.min_version = *c == 0 ? "1.2" : "1.3";
    number(*o, "session_cache", out.session_cache, 0, 1000000);
    duration(*o, "session_timeout_s", out.session_timeout, 1, 86400);
}

// A certificate and its private key, either possibly absent: each readable and well-formed, the
// certificate's validity warned about, the key matching the certificate when both are given.
void Loader::certificate_and_key(const std::optional<File>& cert, const std::optional<File>& key, fs::path& cert_out,
                                 fs::path& key_out) {
    if (cert) {
        cert_out = cert->path;
        report(config_pem::check_certificate(cert->path, cert->shown), cert->ptr);
        if (auto w = config_pem::certificate_validity_warning(cert->path, cert->shown)) warn(cert->ptr, *w);
    }
    if (key) {
        key_out = key->path;
        if (cert) report(config_pem::check_private_key(key->path, key->shown, cert->path, cert->shown), key->ptr);
    }
}

}  // namespace ig::config_load
