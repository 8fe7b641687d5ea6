#include "core/tls/tls_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace ig {
namespace net = boost::asio;
namespace ssl = net::ssl;

boost::system::error_code set_up_tls_client(ssl::context& ctx, const std::optional<std::filesystem::path>& ca_file,
                                            TlsTrust trust) {
    SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
    ctx.set_verify_mode(ssl::verify_peer);
    boost::system::error_code ec;
    // Without a system store (a minimal container) the CA file alone may still do: not an error.
    if (trust == TlsTrust::SystemAndFile || !ca_file) ctx.set_default_verify_paths(ec);
    ec.clear();
    if (ca_file) ctx.load_verify_file(ca_file->string(), ec);
    return ec;
}

template <class Executor>
net::awaitable<boost::system::error_code, Executor> tls_client_handshake(
    BasicTlsClientStream<Executor>& stream, const std::string& host, TlsPeerCheck check,
    std::chrono::steady_clock::time_point deadline) {
    boost::system::error_code ec;
    net::ip::make_address(host, ec);
    // SNI is for names only (RFC 6066); the certificate is checked against the name or the address.
    if (ec && !SSL_set_tlsext_host_name(stream.native_handle(), host.c_str()))
        co_return boost::system::error_code(static_cast<int>(::ERR_get_error()), net::error::get_ssl_category());
    stream.set_verify_mode(ssl::verify_peer);
    stream.set_verify_callback(std::move(check));
    boost::beast::get_lowest_layer(stream).expires_at(deadline);
    auto [hec] =
        co_await stream.async_handshake(ssl::stream_base::client, net::as_tuple(net::use_awaitable_t<Executor>{}));
    co_return hec;
}

template net::awaitable<boost::system::error_code, net::any_io_executor> tls_client_handshake(
    TlsClientStream&, const std::string&, TlsPeerCheck, std::chrono::steady_clock::time_point);
template net::awaitable<boost::system::error_code, net::io_context::executor_type> tls_client_handshake(
    BasicTlsClientStream<net::io_context::executor_type>&, const std::string&, TlsPeerCheck,
    std::chrono::steady_clock::time_point);

}  // namespace ig
