#pragma once
// An immutable snapshot of everything a connection needs. Each connection takes the current one at
// accept (the plugin endpoint: each check); a reload builds a new one and swaps it in
// (Server::swap_runtime, AuthzServer::swap_runtime).
#include "core/config/config.hpp"
#include "proxy/answer/headers.hpp"
#include "proxy/tls/cert_verify.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ig {

struct Runtime {
    Config config;
    std::unique_ptr<boost::asio::ssl::context> server_tls;  // only with the front end on (listen)
    std::string client_trust;  // client_trust_digest() of server_tls; empty without it
    std::unique_ptr<CertVerifier> authz_verifier;  // only with the authz endpoint on
    std::unique_ptr<boost::asio::ssl::context> upstream_tls;  // only for an https upstream
    HeaderPolicy headers;
    std::vector<boost::asio::ip::tcp::endpoint> upstream_endpoints;  // resolved once
    std::uint64_t generation = 0;  // pooled upstream connections of another generation are dropped
};

// Builds the TLS contexts (and the authz certificate verifier) and resolves the upstream. Throws std::runtime_error on
// failure.
std::shared_ptr<const Runtime> make_runtime(Config config);

}  // namespace ig
