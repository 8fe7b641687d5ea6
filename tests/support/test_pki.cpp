#include "tests/support/test_pki.hpp"

#include "core/tls/openssl_ptr.hpp"

#include <openssl/pem.h>
#include <openssl/x509.h>

#include <unistd.h>

#include <cstdlib>
#include <stdexcept>

namespace ig::test {
namespace fs = std::filesystem;

void make_test_pki(const fs::path& dir) {
    fs::create_directories(dir);
    const std::string cmd = "bash '" IG_SOURCE_DIR "/certs/make-pki.sh' '" + dir.string() + "' >/dev/null";
    if (std::system(cmd.c_str()) != 0) throw std::runtime_error("make-pki.sh failed for " + dir.string());
}

const fs::path& test_pki() {
    struct Pki {
        fs::path dir = fs::temp_directory_path() / ("ig-test-pki-" + std::to_string(::getpid()));
        Pki() { make_test_pki(dir); }
        ~Pki() {
            std::error_code ec;
            fs::remove_all(dir, ec);
        }
    };
    static const Pki pki;
    return pki.dir;
}

std::string test_pki_der(const std::string& name) {
    const fs::path file = test_pki() / (name + ".crt");
    const BioPtr bio(BIO_new_file(file.c_str(), "r"));
    if (!bio) throw std::runtime_error("cannot open " + file.string());
    const X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) throw std::runtime_error("not a PEM certificate: " + file.string());
    unsigned char* buf = nullptr;
    const int n = i2d_X509(cert.get(), &buf);
    const OpenSslBytes owned(buf);
    if (n <= 0) throw std::runtime_error("i2d_X509 failed for " + file.string());
    return std::string(reinterpret_cast<char*>(buf), static_cast<std::size_t>(n));
}

}  // namespace ig::test
