#pragma once
// intune-gate --explain CERT.pem --config FILE: what the gateway would make of a device
// certificate, for operators and the help desk. Prints to `out`:
//   the device ID it reads and from which source (or why none),
//   whether the certificate verifies against tls.client_ca (and tls.crl), and why not,
//   the outcome Graph gives the device and the action the configuration takes for it.
#include "core/config/config.hpp"

#include <filesystem>
#include <ostream>
#include <string_view>

namespace ig {

// Exit status: 0 when a request with this certificate would be forwarded, 1 otherwise, 2 when the
// certificate file cannot be read.
// url (optional, --url): also the access policy for that URL and each requirement's result.
int explain_certificate(const Config& config, const std::filesystem::path& certificate, std::ostream& out,
                        std::string_view url = {});

}  // namespace ig
