#include "proxy/runtime.hpp"

#include "proxy/tls/tls_context.hpp"

#include <boost/asio/io_context.hpp>

#include <atomic>
#include <stdexcept>

namespace ig {

std::shared_ptr<const Runtime> make_runtime(Config config) {
    static std::atomic<std::uint64_t> generations{0};
    auto rt = std::make_shared<Runtime>();
    if (config.listen.enabled) {
        rt->server_tls = make_server_tls_context(config.tls);
        rt->client_trust = client_trust_digest(rt->server_tls->native_handle(), config.tls.client_certificate_required);
    }
    if (config.authz.enabled) rt->authz_verifier = std::make_unique<CertVerifier>(config.tls);
    if (config.upstream.tls) rt->upstream_tls = make_upstream_tls_context(config.upstream);
    rt->headers = make_header_policy(config);

    // A plugin-only deployment (listen: null) never contacts the upstream: nothing to resolve.
    if (config.listen.enabled) {
        boost::asio::io_context io;
        boost::asio::ip::tcp::resolver resolver(io);
        boost::system::error_code ec;
        auto results = resolver.resolve(config.upstream.host, std::to_string(config.upstream.port), ec);
        if (ec)
            throw std::runtime_error("cannot resolve upstream host '" + config.upstream.host + "': " + ec.message());
        for (const auto& entry : results) rt->upstream_endpoints.push_back(entry.endpoint());
        if (rt->upstream_endpoints.empty())
            throw std::runtime_error("upstream host '" + config.upstream.host + "' has no address");
    }

    rt->config = std::move(config);
    rt->generation = ++generations;
    return rt;
}

}  // namespace ig
