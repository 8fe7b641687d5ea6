#pragma once
// The client side of TLS, for every outgoing connection (login and Graph, an https upstream,
// Redis over TLS): one context set-up and one handshake that sets SNI, verifies the peer's
// certificate and its host name, and never runs past a deadline.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/verify_context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

namespace ig {

// On a TCP stream of executor type Executor: the front end's workers name their io_context's
// executor; everything else uses the type-erased one.
template <class Executor>
using BasicTlsClientStream = boost::beast::ssl_stream<boost::beast::basic_stream<boost::asio::ip::tcp, Executor>>;
using TlsClientStream = BasicTlsClientStream<boost::asio::any_io_executor>;

// Which certificates a client context trusts.
enum class TlsTrust {
    SystemAndFile,  // the system trust store, plus the CA file when one is given
    FileOrSystem,  // the CA file alone when one is given, the system trust store otherwise
};

// TLS 1.2 at least, the peer's certificate always verified, trusting what `trust` says. An error
// when the CA file cannot be loaded (the context then trusts the system store only, or nothing).
boost::system::error_code set_up_tls_client(boost::asio::ssl::context& ctx,
                                            const std::optional<std::filesystem::path>& ca_file, TlsTrust trust);

// What the peer's certificate must name, on top of a chain to a trusted CA: each caller passes
// boost::asio::ssl::host_name_verification(host).
using TlsPeerCheck = std::function<bool(bool preverified, boost::asio::ssl::verify_context&)>;

// The client handshake on a connected stream: SNI set when `host` is a name (never for an IP
// address), the peer verified (chain and `check`), all of it before `deadline` (beast's timeout
// error after it). The stream's expiry is left at `deadline`.
// Defined for boost::asio::any_io_executor and boost::asio::io_context::executor_type.
template <class Executor>
boost::asio::awaitable<boost::system::error_code, Executor> tls_client_handshake(
    BasicTlsClientStream<Executor>& stream, const std::string& host, TlsPeerCheck check,
    std::chrono::steady_clock::time_point deadline);

}  // namespace ig
