#include "tests/emulator/graph_emulator.hpp"

#include "tests/emulator/emulator_state.hpp"
#include "tests/emulator/graph_endpoints.hpp"
#include "tests/emulator/request_log.hpp"
#include "tests/emulator/token_endpoint.hpp"
#include "tests/emulator/wire.hpp"

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>

#include <atomic>
#include <cctype>
#include <iostream>
#include <mutex>
#include <thread>
#include <vector>

namespace ig::test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

namespace {

constexpr auto use_tuple = net::as_tuple(net::use_awaitable);
constexpr std::size_t header_limit = 16 * 1024;
constexpr std::size_t body_limit = 1024 * 1024;

// The origin for @odata.nextLink: the Host the client sent, when it is a plain host[:port].
std::string link_origin(const emu::request& req, const std::string& fallback) {
  auto host = req[http::field::host];
  if (host.empty() || host.size() > 255) return fallback;
  for (char c : host)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != ':' && c != '[' && c != ']')
      return fallback;
  return "https://" + std::string(host);
}

std::atomic<bool> request_log_on{false};
std::mutex request_log_mutex;

void log_request(const emu::request& req, const emu::reply& r) {
  if (!request_log_on.load(std::memory_order_relaxed)) return;
  auto target = std::string_view(req.target());
  auto path = target.substr(0, std::min<std::size_t>(target.find('?'), 200));
  std::string line = std::string(req.method_string()) + " " + std::string(path) + " " +
                     (r.drop ? std::string("dropped") : std::to_string(r.res.result_int()));
  // The caller's client-request-id (a GUID it chose for tracing, never a secret) when it sent one.
  if (auto crid = req.find("client-request-id"); crid != req.end() && emu::is_guid(crid->value()))
    line += " client-request-id=" + std::string(crid->value());
  line += "\n";
  std::lock_guard lock(request_log_mutex);
  std::cout << line << std::flush;
}

emu::response plain(const emu::request& req, http::status s, const nlohmann::json& body) {
  return emu::json_response(req, s, body);
}

}  // namespace

struct GraphEmulator::impl {
  EmulatorOptions opts;
  emu::emulator_state state;
  ssl::context ssl_ctx{ssl::context::tls_server};
  net::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::uint16_t port = 0;
  std::vector<std::thread> threads;

  explicit impl(EmulatorOptions o) : opts(std::move(o)), state(opts.devices_file) {
    state.set_synthetic_devices(opts.synthetic_devices);
    ssl_ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                        ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    ssl_ctx.use_certificate_chain_file(opts.cert.string());
    ssl_ctx.use_private_key_file(opts.key.string(), ssl::context::pem);

    tcp::endpoint ep{net::ip::make_address(opts.address), opts.port};
    acceptor.open(ep.protocol());
    acceptor.set_option(net::socket_base::reuse_address(true));
    acceptor.bind(ep);
    acceptor.listen(net::socket_base::max_listen_connections);
    port = acceptor.local_endpoint().port();

    net::co_spawn(acceptor.get_executor(), accept_loop(), net::detached);
    for (int i = 0; i < 2; ++i) threads.emplace_back([this] { ioc.run(); });
  }

  ~impl() {
    ioc.stop();
    for (auto& t : threads) t.join();
  }

  std::string origin() const {
    auto host = opts.address.find(':') != std::string::npos ? "[" + opts.address + "]" : opts.address;
    return "https://" + host + ":" + std::to_string(port);
  }

  net::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, sock] = co_await acceptor.async_accept(net::make_strand(ioc), use_tuple);
      if (ec == net::error::operation_aborted || !acceptor.is_open()) co_return;
      if (ec) {  // e.g. out of descriptors: back off instead of spinning
        net::steady_timer t(acceptor.get_executor(), 50ms);
        co_await t.async_wait(use_tuple);
        continue;
      }
      auto ex = sock.get_executor();
      net::co_spawn(ex, session(beast::ssl_stream<beast::tcp_stream>(std::move(sock), ssl_ctx)), net::detached);
    }
  }

  net::awaitable<void> session(beast::ssl_stream<beast::tcp_stream> stream) {
    beast::flat_buffer buffer;
    beast::get_lowest_layer(stream).expires_after(10s);
    if (auto [ec] = co_await stream.async_handshake(ssl::stream_base::server, use_tuple); ec) co_return;
    state.count_connection();
    struct closed_on_exit {  // every way out of the session below ends the connection
      emu::emulator_state& s;
      ~closed_on_exit() { s.count_connection_closed(); }
    } closed{state};
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(header_limit);
      parser.body_limit(body_limit);
      beast::get_lowest_layer(stream).expires_after(60s);
      auto [rec, rn] = co_await http::async_read(stream, buffer, parser, use_tuple);
      if (rec == http::error::end_of_stream) break;
      if (rec) {
        // A malformed or oversized request gets a status (as Graph's front door does), then the
        // connection is closed; timeouts and resets just end it.
        if (rec.category() != http::make_error_code(http::error::bad_target).category()) co_return;
        auto status = rec == http::error::header_limit ? http::status::request_header_fields_too_large
                      : rec == http::error::body_limit ? http::status::payload_too_large
                                                       : http::status::bad_request;
        emu::request bad;
        emu::response res = plain(bad, status, {{"error", rec.message()}});
        res.keep_alive(false);
        beast::get_lowest_layer(stream).expires_after(5s);
        co_await http::async_write(stream, res, use_tuple);
        break;
      }
      auto req = parser.release();
      emu::reply r = handle(req);
      log_request(req, r);
      if (r.delay > 0ms) {
        net::steady_timer t(co_await net::this_coro::executor, r.delay);
        co_await t.async_wait(use_tuple);
      }
      if (r.drop) {
        beast::error_code ignored;
        beast::get_lowest_layer(stream).socket().shutdown(tcp::socket::shutdown_both, ignored);
        beast::get_lowest_layer(stream).socket().close(ignored);
        co_return;
      }
      const bool keep = r.res.keep_alive();
      beast::get_lowest_layer(stream).expires_after(30s);
      if (auto [wec, wn] = co_await http::async_write(stream, r.res, use_tuple); wec) co_return;
      if (!keep) break;
    }
    beast::get_lowest_layer(stream).expires_after(5s);
    co_await stream.async_shutdown(use_tuple);
  }

  emu::reply handle(const emu::request& req) {
    try {
      auto target = boost::urls::parse_origin_form(req.target());
      if (!target) return {plain(req, http::status::bad_request, {{"error", "malformed request target"}})};
      std::vector<std::string> seg;
      for (auto s : target->segments()) {
        if (seg.size() > 8) break;
        seg.push_back(s);
      }
      if (!seg.empty() && seg[0] == "_emulator") return {control(req, seg)};
      if (seg.size() == 4 && emu::to_lower(seg[1]) == "oauth2" && emu::to_lower(seg[2]) == "v2.0" &&
          emu::to_lower(seg[3]) == "token")
        return emu::handle_token(req, seg[0], target->path(), state);
      if (!seg.empty() && (seg[0] == "v1.0" || seg[0] == "beta"))
        return emu::handle_graph(req, *target, link_origin(req, origin()), state);
      return {plain(req, http::status::not_found, {{"error", "not found"}})};
    } catch (const std::exception&) {
      return {plain(req, http::status::internal_server_error, {{"error", "internal error"}})};
    }
  }

  // Test controls for the binary: the same operations as GraphEmulator's public methods.
  emu::response control(const emu::request& req, const std::vector<std::string>& seg) {
    using st = http::status;
    const auto m = req.method();
    auto body_json = [&] { return nlohmann::json::parse(req.body().empty() ? "{}" : req.body()); };
    try {
      if (seg.size() == 2 && seg[1] == "stats" && m == http::verb::get) return plain(req, st::ok, state.stats());
      if (seg.size() == 2 && seg[1] == "reset" && m == http::verb::post) {
        state.reset_stats();
        return plain(req, st::ok, {{"ok", true}});
      }
      if (seg.size() == 3 && seg[1] == "fault" && m == http::verb::post) {
        state.set_fault(seg[2], body_json());
        return plain(req, st::ok, {{"ok", true}});
      }
      if (seg.size() == 2 && seg[1] == "fault" && m == http::verb::delete_) {
        state.clear_faults();
        return plain(req, st::ok, {{"ok", true}});
      }
      if (seg.size() == 2 && seg[1] == "devices" && m == http::verb::post) {
        return plain(req, st::ok, {{"ok", true}, {"set", state.set_devices(body_json())}});
      }
      if (seg.size() == 3 && seg[1] == "devices" && m == http::verb::put) {
        // A device put here just checked in (the changes sync's filter), unless the test says when.
        auto device = body_json();
        if (device.is_object() && !device.contains("lastSyncDateTime")) device["lastSyncDateTime"] = emu::graph_now();
        state.set_device(seg[2], std::move(device));
        return plain(req, st::ok, {{"ok", true}});
      }
      if (seg.size() == 2 && seg[1] == "revoke" && m == http::verb::post) {
        state.revoke_tokens();
        return plain(req, st::ok, {{"ok", true}});
      }
      if (seg.size() == 2 && seg[1] == "token_latency" && m == http::verb::post) {
        state.set_token_latency(body_json().at("latency_ms").get<int>());
        return plain(req, st::ok, {{"ok", true}});
      }
      if (seg.size() == 2 && seg[1] == "token_lifetime" && m == http::verb::post) {
        state.set_token_lifetime(body_json().at("expires_in").get<int>());
        return plain(req, st::ok, {{"ok", true}});
      }
    } catch (const std::exception& e) {
      return plain(req, st::bad_request, {{"error", e.what()}});
    }
    return plain(req, st::not_found, {{"error", "unknown control endpoint"}});
  }
};

void set_request_log(bool on) { request_log_on = on; }

GraphEmulator::GraphEmulator(EmulatorOptions opts) : impl_(std::make_unique<impl>(std::move(opts))) {}
GraphEmulator::~GraphEmulator() = default;

std::uint16_t GraphEmulator::port() const { return impl_->port; }
std::string GraphEmulator::origin() const { return impl_->origin(); }
nlohmann::json GraphEmulator::stats() const { return impl_->state.stats(); }
void GraphEmulator::reset_stats() { impl_->state.reset_stats(); }
void GraphEmulator::set_fault(const std::string& id, nlohmann::json fault) { impl_->state.set_fault(id, fault); }
void GraphEmulator::clear_faults() { impl_->state.clear_faults(); }
void GraphEmulator::set_device(const std::string& id, nlohmann::json device) {
  impl_->state.set_device(id, std::move(device));
}
void GraphEmulator::set_token_lifetime(int expires_in_s) { impl_->state.set_token_lifetime(expires_in_s); }
void GraphEmulator::revoke_tokens() { impl_->state.revoke_tokens(); }

}  // namespace ig::test
