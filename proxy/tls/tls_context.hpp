#pragma once
// The TLS contexts: the mTLS server side (client certificate verified against tls.client_ca) and
// the client side towards an https upstream.
#include "core/config/config.hpp"
#include "proxy/admin/proxy_metrics.hpp"

#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>

#include <filesystem>
#include <memory>
#include <string>

namespace ig {

// Throws std::runtime_error naming the file that could not be used.
std::unique_ptr<boost::asio::ssl::context> make_server_tls_context(const TlsConfig& tls);
std::unique_ptr<boost::asio::ssl::context> make_upstream_tls_context(const UpstreamConfig& upstream);

// A SHA-256 digest of what a server context's handshake depends on: its own certificate, the
// client CA certificates and CRLs as loaded, and whether a client certificate is required. It is
// the context's session id context (sessions resume only under an equal one), and a reload that
// changes it closes the front end's older connections once idle (Server::swap_runtime).
std::string client_trust_digest(SSL_CTX* ctx, bool certificate_required);

// Why a server handshake failed, from the verify result and the error.
HandshakeFailure classify_handshake_failure(SSL* ssl, const boost::system::error_code& ec);

// Throws std::runtime_error "<what> '<file>': <OpenSSL's first queued error>", clearing the queue.
[[noreturn]] void throw_tls_file_error(const std::string& what, const std::filesystem::path& file);

}  // namespace ig
