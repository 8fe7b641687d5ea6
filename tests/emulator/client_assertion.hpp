#pragma once
// Verifies a client_assertion JWT the way Entra ID does for the certificate credential: PS256 or
// RS256 signature against the registered (RSA) certificate, x5t#S256 or x5t, aud, iss=sub, exp, nbf.
// ES256 is refused as Entra ID refuses it (see unsupported_algorithm).
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace ig::test::emu {

// The unverified "iss" claim, to find the client when the form has no client_id.
std::optional<std::string> assertion_issuer(std::string_view jwt);

// nullopt when valid, else a short reason. expected_path is the token endpoint path the client
// posted to ("/{tenant}/oauth2/v2.0/token"); aud must be an https URL with that path.
// The JWT's "alg" when Entra ID does not support it for signatures (ES256/384/512, HS*, none):
// Entra answers AADSTS5002738 "Invalid JWT token. '<alg>' is not a supported signature algorithm."
// (quoted in AzureAD/microsoft-identity-web#3467). nullopt for PS256/RS256 or an unreadable JWT.
std::optional<std::string> unsupported_algorithm(std::string_view jwt);

std::optional<std::string> verify_client_assertion(std::string_view jwt, const std::filesystem::path& certificate,
                                                   std::string_view client_id, std::string_view expected_path);

}  // namespace ig::test::emu
