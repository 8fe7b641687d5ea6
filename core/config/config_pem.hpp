#pragma once
// File and PEM checks for the configuration loader (OpenSSL). Every function returns an error
// message without the "config error: <path>: " prefix, or nothing when the file is fine.
// `shown` is the path as the operator wrote it, used in messages.
#include <filesystem>
#include <optional>
#include <string>

namespace ig::config_pem {

// The whole file, or "cannot read file '<shown>': <strerror>" in `error`. Refuses files over max_bytes.
std::optional<std::string> read_file(const std::filesystem::path& file, const std::string& shown, std::string& error,
                                     std::size_t max_bytes = 16 << 20);

// A PEM certificate (chain) file whose first certificate parses.
std::optional<std::string> check_certificate(const std::filesystem::path& file, const std::string& shown);

// An unencrypted PEM private key that belongs to the first certificate in cert_file (when that
// file is readable; its own problems are reported by check_certificate).
std::optional<std::string> check_private_key(const std::filesystem::path& key_file, const std::string& shown,
                                             const std::filesystem::path& cert_file, const std::string& cert_shown);

// Entra ID accepts certificate credentials with RSA keys only: a message when key_file holds any
// other key type (nothing when it holds RSA or does not parse; check_private_key reports that).
std::optional<std::string> check_rsa_key(const std::filesystem::path& key_file, const std::string& shown);

// A PEM bundle with at least one certificate (and nothing unparseable).
std::optional<std::string> check_ca_bundle(const std::filesystem::path& file, const std::string& shown);

// A PEM CRL file; when ca_file is readable, each CRL must be signed by a certificate in it.
std::optional<std::string> check_crl(const std::filesystem::path& file, const std::string& shown,
                                     const std::filesystem::path& ca_file);

// Not-before/not-after of the first certificate; a message when it is not valid right now.
std::optional<std::string> certificate_validity_warning(const std::filesystem::path& file, const std::string& shown);

}  // namespace ig::config_pem
