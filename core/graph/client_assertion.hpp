#pragma once
// The JWT client assertion of the certificate grant (Microsoft identity platform "certificate
// credentials"): claims aud, iss=sub=client_id, jti, nbf, iat, exp; header {"alg":"PS256","typ":"JWT",
// "x5t#S256"} (the documented form: RSA-PSS, SHA-256 thumbprint) or {"alg":"RS256","typ":"JWT","x5t"}
// (PKCS#1 v1.5, SHA-1 thumbprint: what older MSAL versions send). RSA keys only: Entra ID refuses
// certificate credentials with EC keys.
#include "core/config/config.hpp"

#include <chrono>
#include <filesystem>
#include <string>

namespace ig {

struct AssertionResult {
    std::string jwt;  // empty on failure
    std::string error;  // one line, names the file, never key material
};

AssertionResult make_client_assertion(const std::filesystem::path& certificate_file,
                                      const std::filesystem::path& private_key_file, const std::string& client_id,
                                      const std::string& audience,
                                      AssertionAlgorithm algorithm = AssertionAlgorithm::PS256,
                                      std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

}  // namespace ig
