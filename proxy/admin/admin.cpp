#include "proxy/admin/admin.hpp"

#include "core/graph/bounded_parser.hpp"
#include "core/identity/device_id.hpp"
#include "core/text/log.hpp"
#include "proxy/admin/refresh_limit.hpp"
#include "proxy/listener.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>
#include <nlohmann/json.hpp>

#include <thread>

namespace ig {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

std::string token_state(const std::optional<bool>& ok) { return !ok ? "not_tried" : *ok ? "ok" : "failing"; }

}  // namespace

struct AdminServer::Impl {
    AdminHandlers handlers;
    AdminLimits limits;
    std::size_t connections = 0;  // touched only on the admin thread
    RefreshLimiter refresh_limit;  // the same
    // Before ioc: the io_context's destructor destroys suspended connections, which unregister.
    IdleRegistry idle;
    Counter accept_errors;
    std::uint16_t port = 0;  // set before the thread starts; the acceptor belongs to that thread
    net::io_context ioc{1};
    tcp::acceptor acceptor{ioc};
    std::thread thread;
    bool stopped = false;

    // The token check: SHA-256 of both sides compared with CRYPTO_memcmp, so neither the time
    // taken nor an early exit tells how much of a guess was right, and lengths need not match.
    bool authorized(const http::request<http::string_body>& req) const {
        const std::string expected = handlers.token ? handlers.token() : std::string();
        if (expected.empty()) return true;
        if (req.count(http::field::authorization) != 1) return false;
        std::string_view value = req[http::field::authorization];
        constexpr std::string_view scheme = "bearer ";
        if (value.size() <= scheme.size() || !beast::iequals(value.substr(0, scheme.size()), scheme)) return false;
        value.remove_prefix(scheme.size());
        unsigned char a[EVP_MAX_MD_SIZE], b[EVP_MAX_MD_SIZE];
        unsigned int na = 0, nb = 0;
        if (EVP_Digest(value.data(), value.size(), a, &na, EVP_sha256(), nullptr) != 1 ||
            EVP_Digest(expected.data(), expected.size(), b, &nb, EVP_sha256(), nullptr) != 1 || na != nb)
            return false;
        return CRYPTO_memcmp(a, b, na) == 0;
    }

    static std::string device_json(const DeviceView& v, const std::string& policy = {}) {
        nlohmann::json body{
            {"device_id", v.device_id}, {"outcome", v.outcome}, {"compliance_state", v.compliance_state},
            {"source", v.source},       {"age_s", v.age_s},     {"ttl_s", v.ttl_s},
            {"reason", v.reason}};
        if (!v.facts_json.empty()) body["facts"] = nlohmann::json::parse(v.facts_json, nullptr, false);
        if (!policy.empty()) body["policy"] = nlohmann::json::parse(policy, nullptr, false);
        return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    }

    // ?url=... of a help-desk request, percent-decoded; empty when not given.
    static std::string url_param(std::string_view target) {
        auto parsed = boost::urls::parse_origin_form(target);
        if (!parsed) return {};
        auto it = parsed->params().find("url");
        return it == parsed->params().end() ? std::string() : std::string((*it).value);
    }

    // Looks the device up through handlers.refresh and resumes here on the admin thread.
    net::awaitable<DeviceView> refresh(std::string id) {
        co_return co_await net::async_initiate<decltype(net::use_awaitable), void(DeviceView)>(
            [this](auto handler, std::string device) {
                auto ex = net::get_associated_executor(handler, ioc.get_executor());
                auto shared = std::make_shared<decltype(handler)>(std::move(handler));
                handlers.refresh(device, [ex, shared](DeviceView v) {
                    net::post(ex, [shared, v = std::move(v)]() mutable { (*shared)(std::move(v)); });
                });
            },
            net::use_awaitable, std::move(id));
    }

    net::awaitable<http::response<http::string_body>> answer(const http::request<http::string_body>& req) {
        http::response<http::string_body> res;
        res.version(req.version());
        res.keep_alive(req.keep_alive());
        res.set(http::field::cache_control, "no-store");
        const std::string_view target = req.target();
        const std::string_view path = target.substr(0, target.find('?'));
        auto text = [&](http::status s, std::string_view content_type, std::string body) {
            res.result(s);
            res.set(http::field::content_type, content_type);
            res.body() = std::move(body);
        };
        auto json_error = [&](http::status s, std::string_view reason) {
            text(s, "application/json", nlohmann::json{{"reason", reason}}.dump() + "\n");
        };
        // /devices/{id} and /devices/{id}/refresh
        constexpr std::string_view devices = "/devices/", refresh_suffix = "/refresh";
        std::string_view device_part;
        bool refresh_path = false;
        if (path.substr(0, devices.size()) == devices) {
            device_part = path.substr(devices.size());
            if (device_part.size() > refresh_suffix.size() &&
                device_part.substr(device_part.size() - refresh_suffix.size()) == refresh_suffix) {
                device_part.remove_suffix(refresh_suffix.size());
                refresh_path = true;
            }
        }
        const bool device_path = !device_part.empty() && device_part.find('/') == std::string_view::npos;
        const bool open_path = path == "/healthz" || path == "/readyz";
        const bool known = open_path || path == "/metrics" || device_path;
        const bool is_get = req.method() == http::verb::get || req.method() == http::verb::head;
        if (!open_path && !authorized(req)) {
            json_error(http::status::unauthorized, "a valid \"Authorization: Bearer <admin token>\" is required");
            res.set(http::field::www_authenticate, "Bearer realm=\"intune-gate admin\"");
        } else if (!known) {
            text(http::status::not_found, "text/plain; charset=utf-8", "not found\n");
        } else if (device_path && refresh_path ? req.method() != http::verb::post : !is_get) {
            text(http::status::method_not_allowed, "text/plain; charset=utf-8", "method not allowed\n");
            res.set(http::field::allow, device_path && refresh_path ? "POST" : "GET, HEAD");
        } else if (path == "/healthz") {
            text(http::status::ok, "text/plain; charset=utf-8", "ok\n");
        } else if (path == "/readyz") {
            const bool ready = handlers.ready && handlers.ready();
            const auto token = handlers.token_ok ? handlers.token_ok() : std::optional<bool>{};
            nlohmann::json body{{"ready", ready}, {"token", token_state(token)}};
            text(ready ? http::status::ok : http::status::service_unavailable, "application/json", body.dump() + "\n");
        } else if (path == "/metrics") {
            text(http::status::ok, "text/plain; version=0.0.4; charset=utf-8",
                 handlers.metrics ? handlers.metrics() : std::string());
        } else if (auto id = normalize_guid(device_part); !id) {
            json_error(http::status::bad_request, "the device id must be a GUID (8-4-4-4-12 hex digits)");
        } else if (!handlers.device || !handlers.refresh) {
            text(http::status::not_found, "text/plain; charset=utf-8", "not found\n");
        } else if (refresh_path) {
            if (auto wait = refresh_limit.admit(*id)) {
                json_error(http::status::too_many_requests, "too many refreshes; try again later");
                res.set(http::field::retry_after, std::to_string(wait->count()));
            } else {
                text(http::status::ok, "application/json", device_json(co_await refresh(*id)));
            }
        } else if (auto view = handlers.device(*id)) {
            const auto url = url_param(target);
            text(http::status::ok, "application/json",
                 device_json(*view, url.empty() || !handlers.policy ? std::string() : handlers.policy(*id, url)));
        } else {
            json_error(http::status::not_found, "no verdict cached for this device");
        }
        res.prepare_payload();  // HEAD: Content-Length of the GET body, and the body is not sent
        co_return res;
    }

    net::awaitable<void> session(beast::tcp_stream stream) {
        struct Count {
            std::size_t& n;
            ~Count() { --n; }
        } count{++connections};
        IdleRegistry::Member member(idle, ioc.get_executor(), [&stream] { stream.cancel(); });
        // A header, then a body of at most 4 KiB or a chunk line or trailer (max_body_framing_bytes).
        beast::flat_buffer buffer{limits.max_header_bytes + max_body_framing_bytes};
        beast::error_code ec;
        for (;;) {
            BoundedRequestParser<http::string_body> parser;
            parser.header_limit(static_cast<std::uint32_t>(limits.max_header_bytes));
            parser.body_limit(4096);  // nothing here reads a body
            stream.expires_after(limits.timeout);
            member.idle(true);
            co_await http::async_read(stream, buffer, parser, net::redirect_error(net::use_awaitable, ec));
            member.idle(false);
            if (ec) break;  // end_of_stream, timeout, malformed, oversized or evicted: just close
            http::response<http::string_body> res;
            try {
                res = co_await answer(parser.get());
            } catch (const std::exception& e) {
                log::error("admin request failed", {{"error", e.what()}});
                res = {http::status::internal_server_error, parser.get().version()};
                res.keep_alive(false);
                res.prepare_payload();
            }
            const bool keep_alive = res.keep_alive();
            stream.expires_after(limits.timeout);
            if (parser.get().method() == http::verb::head) {
                http::response_serializer<http::string_body> sr{res};
                sr.split(true);  // header only
                co_await http::async_write_header(stream, sr, net::redirect_error(net::use_awaitable, ec));
            } else {
                co_await http::async_write(stream, res, net::redirect_error(net::use_awaitable, ec));
            }
            if (ec || !keep_alive) break;
        }
        stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    }

    // Full: the connection idle the longest gives way, so that idle connections cannot keep
    // /healthz and /readyz out; refused only when every connection is busy with a request.
    void on_accept(tcp::socket socket) {
        beast::error_code ec;
        if (connections >= limits.max_connections && !idle.evict_oldest_idle()) {
            socket.close(ec);
            return;
        }
        net::co_spawn(ioc, session(beast::tcp_stream(std::move(socket))), net::detached);
    }
};

AdminServer::AdminServer(const std::string& address, std::uint16_t port, AdminHandlers handlers, AdminLimits limits)
    : impl_(std::make_unique<Impl>()) {
    impl_->handlers = std::move(handlers);
    impl_->limits = limits;
    const tcp::endpoint endpoint{net::ip::make_address(address), port};
    open_acceptor(impl_->acceptor, endpoint, false);
    impl_->port = impl_->acceptor.local_endpoint().port();
    net::co_spawn(impl_->ioc,
                  accept_loop<net::any_io_executor>(
                      impl_->acceptor, impl_->accept_errors, [impl = impl_.get()] { return impl->ioc.get_executor(); },
                      [impl = impl_.get()](tcp::socket socket) { impl->on_accept(std::move(socket)); }),
                  net::detached);
    impl_->thread = std::thread([impl = impl_.get()] { impl->ioc.run(); });
}

AdminServer::~AdminServer() { stop(); }

std::uint16_t AdminServer::port() const { return impl_->port; }

void AdminServer::stop() {
    if (impl_->stopped) return;
    impl_->stopped = true;
    impl_->ioc.stop();  // pending coroutines (and their sockets) are destroyed with the io_context
    if (impl_->thread.joinable()) impl_->thread.join();
    beast::error_code ec;
    impl_->acceptor.close(ec);
}

}  // namespace ig
