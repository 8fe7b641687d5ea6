// The configuration loader from the file's bytes: load_config_text() with relative paths resolved
// against a PKI folder (IG_FUZZ_PKI, made by certs/make-pki.sh), so that seeds naming
// "server.crt" and friends reach the certificate checks. Every problem must be a one-line
// "config error: <JSON pointer>: ..." without the secret it read, and a valid result must have
// no errors.
#include "core/config/config.hpp"

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace {
std::filesystem::path pki;

void require(bool ok) {
    if (!ok) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    const char* dir = std::getenv("IG_FUZZ_PKI");
    pki = dir ? dir : std::filesystem::current_path();
    // Secrets named by {"env": ...} in the seeds.
    ::setenv("IG_FUZZ_SECRET", "fuzz-s3cret-value", 1);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto r = ig::load_config_text(text, pki);
    require(r.config.has_value() == r.errors.empty());
    for (const auto& e : r.errors) {
        require(e.rfind("config error: /", 0) == 0);
        require(e.find_first_of(std::string_view("\r\n\0", 3)) == std::string::npos);
        // The secret comes from the environment; it may show up only when the text itself has it
        // (e.g. as an unknown key's name).
        if (text.find("fuzz-s3cret-value") == std::string_view::npos)
            require(e.find("fuzz-s3cret-value") == std::string::npos);
    }
    return 0;
}
