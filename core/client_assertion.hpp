#pragma once
// The JWT client assertion of the certificate grant (Microsoft identity platform "certificate
// credentials"): header {"alg","typ":"JWT","x5t#S256"}, claims aud, iss=sub=client_id, jti, nbf, iat, exp.
// ES256/ES384/ES512 for EC keys (raw r||s signature), RS256 for RSA keys.
#include <chrono>
#include <filesystem>
#include <string>

namespace ig {

struct AssertionResult {
    std::string jwt;    // empty on failure
    std::string error;  // one line, names the file, never key material
};

AssertionResult make_client_assertion(const std::filesystem::path& certificate_file,
                                      const std::filesystem::path& private_key_file, const std::string& client_id,
                                      const std::string& audience,
                                      std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

}  // namespace ig
