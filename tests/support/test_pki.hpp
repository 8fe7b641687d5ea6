#pragma once
// The test PKI of certs/make-pki.sh (CAs, server, device certificates, CRL), for unit tests.
#include <filesystem>
#include <string>

namespace ig::test {

// Runs make-pki.sh into `dir`; throws std::runtime_error when it fails.
void make_test_pki(const std::filesystem::path& dir);

// One PKI per test process, in a private temporary folder removed at exit.
const std::filesystem::path& test_pki();

// The DER bytes of <name>.crt in test_pki().
std::string test_pki_der(const std::string& name);

}  // namespace ig::test
