#include "core/config/config_pem.hpp"

#include "core/tls/openssl_ptr.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

namespace ig::config_pem {
namespace {

// Never prompt on a terminal for a pass phrase: an encrypted key is simply refused.
int no_password(char*, int, int, void*) { return -1; }

// The reason of the most recent OpenSSL error, then a clean queue for the next caller.
std::string openssl_reason() {
    unsigned long e = ERR_peek_last_error();
    const char* r = e ? ERR_reason_error_string(e) : nullptr;
    std::string out = r ? r : "unknown error";
    ERR_clear_error();
    return out;
}

bool no_more_pem() {
    unsigned long e = ERR_peek_last_error();
    bool end = ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
    ERR_clear_error();
    return end;
}

BioPtr memory_bio(const std::string& text) {
    return BioPtr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

// All certificates of a PEM file; `error` is set when one does not parse or there is none.
std::vector<X509Ptr> read_certificates(const std::string& text, const std::string& shown, std::string& error) {
    std::vector<X509Ptr> certs;
    ERR_clear_error();
    auto bio = memory_bio(text);
    while (auto* x = PEM_read_bio_X509(bio.get(), nullptr, no_password, nullptr)) certs.emplace_back(x);
    if (!no_more_pem())
        error = "'" + shown + "' holds a PEM certificate that does not parse";
    else if (certs.empty())
        error = "no PEM certificate in '" + shown + "'";
    if (!error.empty()) certs.clear();
    return certs;
}

std::optional<std::string> as_error(const std::string& e) {
    if (e.empty()) return std::nullopt;
    return e;
}

}  // namespace

std::optional<std::string> read_file(const std::filesystem::path& file, const std::string& shown, std::string& error,
                                     std::size_t max_bytes) {
    auto fail = [&](int err) {
        error = "cannot read file '" + shown + "': " + std::strerror(err);
        return std::nullopt;
    };
    // Non-blocking so that a FIFO named by mistake (or malice) cannot hang the loader.
    int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return fail(errno);
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        int err = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
        ::close(fd);
        if (err == EINVAL) {
            error = "cannot read file '" + shown + "': not a regular file";
            return std::nullopt;
        }
        return fail(err);
    }
    std::string data;
    char buf[16384];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int err = errno;
            ::close(fd);
            return fail(err);
        }
        if (n == 0) break;
        data.append(buf, static_cast<std::size_t>(n));
        if (data.size() > max_bytes) {
            ::close(fd);
            error = "file '" + shown + "' is larger than " + std::to_string(max_bytes) + " bytes";
            return std::nullopt;
        }
    }
    ::close(fd);
    return data;
}

std::optional<std::string> check_certificate(const std::filesystem::path& file, const std::string& shown) {
    std::string error;
    auto text = read_file(file, shown, error);
    if (!text) return error;
    read_certificates(*text, shown, error);
    return as_error(error);
}

std::optional<std::string> check_private_key(const std::filesystem::path& key_file, const std::string& shown,
                                             const std::filesystem::path& cert_file, const std::string& cert_shown) {
    std::string error;
    auto text = read_file(key_file, shown, error);
    if (!text) return error;
    ERR_clear_error();
    auto bio = memory_bio(*text);
    EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_password, nullptr));
    if (!key) {
        std::string reason = openssl_reason();
        if (text->find("ENCRYPTED") != std::string::npos)
            return "'" + shown +
                   "' is an encrypted private key; give it unencrypted (protect it with file permissions)";
        return "'" + shown + "' holds no PEM private key that parses (" + reason + ")";
    }
    std::string cert_error;
    auto cert_text = read_file(cert_file, cert_shown, cert_error);
    if (!cert_text) return std::nullopt;  // reported for the certificate
    auto certs = read_certificates(*cert_text, cert_shown, cert_error);
    if (certs.empty()) return std::nullopt;
    int match = X509_check_private_key(certs.front().get(), key.get());
    ERR_clear_error();
    if (match != 1) return "the private key in '" + shown + "' does not match the certificate in '" + cert_shown + "'";
    return std::nullopt;
}

std::optional<std::string> check_rsa_key(const std::filesystem::path& key_file, const std::string& shown) {
    std::string error;
    auto text = read_file(key_file, shown, error);
    if (!text) return std::nullopt;
    ERR_clear_error();
    auto bio = memory_bio(*text);
    EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_password, nullptr));
    ERR_clear_error();
    if (!key || EVP_PKEY_get_base_id(key.get()) == EVP_PKEY_RSA) return std::nullopt;
    const char* type = EVP_PKEY_get0_type_name(key.get());
    return "'" + shown + "' holds " + (type ? std::string(type) : std::string("a non-RSA")) +
           " key; Entra ID accepts certificate credentials with RSA keys only: make an RSA key (2048 bits or more) "
           "and certificate and upload that certificate to the app registration";
}

std::optional<std::string> check_ca_bundle(const std::filesystem::path& file, const std::string& shown) {
    return check_certificate(file, shown);
}

std::optional<std::string> check_crl(const std::filesystem::path& file, const std::string& shown,
                                     const std::filesystem::path& ca_file) {
    std::string error;
    auto text = read_file(file, shown, error);
    if (!text) return error;
    std::vector<X509CrlPtr> crls;
    ERR_clear_error();
    auto bio = memory_bio(*text);
    while (auto* c = PEM_read_bio_X509_CRL(bio.get(), nullptr, no_password, nullptr)) crls.emplace_back(c);
    if (!no_more_pem()) return "'" + shown + "' holds a PEM CRL that does not parse";
    if (crls.empty()) return "no PEM CRL in '" + shown + "'";

    std::string ca_error;
    auto ca_text = read_file(ca_file, ca_file.string(), ca_error);
    if (!ca_text) return std::nullopt;  // reported for client_ca
    auto cas = read_certificates(*ca_text, ca_file.string(), ca_error);
    if (cas.empty()) return std::nullopt;
    for (const auto& crl : crls) {
        bool signed_by_ca = false;
        for (const auto& ca : cas) {
            if (X509_NAME_cmp(X509_CRL_get_issuer(crl.get()), X509_get_subject_name(ca.get())) != 0) continue;
            EVP_PKEY* pub = X509_get0_pubkey(ca.get());
            if (pub && X509_CRL_verify(crl.get(), pub) == 1) signed_by_ca = true;
        }
        ERR_clear_error();
        if (!signed_by_ca) return "a CRL in '" + shown + "' is not signed by any certificate in tls.client_ca";
    }
    return std::nullopt;
}

std::optional<std::string> certificate_validity_warning(const std::filesystem::path& file, const std::string& shown) {
    std::string error;
    auto text = read_file(file, shown, error);
    if (!text) return std::nullopt;
    auto certs = read_certificates(*text, shown, error);
    if (certs.empty()) return std::nullopt;
    X509* x = certs.front().get();
    if (X509_cmp_current_time(X509_get0_notAfter(x)) < 0) return "the certificate in '" + shown + "' has expired";
    if (X509_cmp_current_time(X509_get0_notBefore(x)) > 0) return "the certificate in '" + shown + "' is not valid yet";
    return std::nullopt;
}

}  // namespace ig::config_pem
