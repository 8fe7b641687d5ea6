#pragma once
// Verifies a client_assertion JWT (RS256/ES256) the way Entra ID does for the certificate
// credential: signature against the registered certificate, x5t#S256, aud, iss=sub, exp, nbf.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace ig::test::emu {

// The unverified "iss" claim, to find the client when the form has no client_id.
std::optional<std::string> assertion_issuer(std::string_view jwt);

// nullopt when valid, else a short reason. expected_path is the token endpoint path the client
// posted to ("/{tenant}/oauth2/v2.0/token"); aud must be an https URL with that path.
std::optional<std::string> verify_client_assertion(std::string_view jwt, const std::filesystem::path& certificate,
                                                   std::string_view client_id, std::string_view expected_path);

}  // namespace ig::test::emu
