#include "core/graph/http_client.hpp"

#include "core/graph/bounded_parser.hpp"
#include "core/text/text.hpp"
#include "core/tls/tls_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <deque>
#include <memory>
#include <unordered_map>

namespace ig {
namespace net = boost::asio;
namespace ssl = net::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using namespace net::experimental::awaitable_operators;

namespace {
constexpr auto use_tuple = net::as_tuple(net::use_awaitable);
constexpr std::size_t header_limit = 64 * 1024;

// The requests in flight per origin, and those waiting for one to finish (first come, first
// served). Used on one strand only, as the client is.
struct OriginSlots {
    struct Waiter {
        explicit Waiter(const net::any_io_executor& ex) : timer(ex) {}
        net::steady_timer timer;
        bool granted = false;
    };
    struct Line {
        std::size_t busy = 0;
        std::deque<std::shared_ptr<Waiter>> waiting;
    };
    std::size_t max_per_origin = 16;
    std::size_t peak = 0;
    std::unordered_map<std::string, Line> lines;

    // A slot of the origin, or false when the deadline came first.
    net::awaitable<bool> acquire(const std::string& key, Clock::time_point deadline) {
        auto& line = lines[key];
        if (line.busy < max_per_origin) {
            peak = std::max(peak, ++line.busy);
            co_return true;
        }
        auto w = std::make_shared<Waiter>(co_await net::this_coro::executor);
        w->timer.expires_at(deadline);
        line.waiting.push_back(w);
        co_await w->timer.async_wait(use_tuple);
        if (w->granted) co_return true;  // a finishing request handed its slot over
        std::erase(lines[key].waiting, w);
        co_return false;
    }

    void release(const std::string& key) {
        auto& line = lines[key];
        if (!line.waiting.empty()) {
            auto w = std::move(line.waiting.front());
            line.waiting.pop_front();
            w->granted = true;
            w->timer.cancel();
            return;
        }
        if (line.busy > 0) --line.busy;
    }
};

struct SlotHeld {
    SlotHeld(OriginSlots& s, std::string k) : slots(s), key(std::move(k)) {}
    OriginSlots& slots;
    std::string key;
    SlotHeld(const SlotHeld&) = delete;
    SlotHeld& operator=(const SlotHeld&) = delete;
    ~SlotHeld() {
        try {
            slots.release(key);
        } catch (...) {  // out of memory: the slot stays taken; nothing else can be done here
        }
    }
};

}  // namespace

std::string HttpResult::error_text() const {
    if (!ec) return {};
    return where + ": " + ec.message();
}

struct HttpClient::Connection {
    // Room for a whole TLS record: Beast reads into what the buffer has room for (at least 512
    // bytes), and an answer read 512 bytes at a time costs a read and a resumption per piece.
    Connection(net::any_io_executor ex, ssl::context& ctx) : stream(ex, ctx) { buffer.reserve(16 * 1024); }
    TlsClientStream stream;
    // The body goes straight into the parser's string: the buffer holds a header, or a chunk line
    // or trailer, and no more (max_body_framing_bytes).
    beast::flat_buffer buffer{header_limit + max_body_framing_bytes};
};

struct HttpClient::State {
    ssl::context ctx{ssl::context::tls_client};
    std::string init_error;
    HttpClientOptions options;
    std::unordered_map<std::string, std::vector<std::unique_ptr<Connection>>> idle;
    OriginSlots slots;
};

HttpClient::HttpClient(HttpClientOptions options) : state_(std::make_unique<State>()) {
    state_->options = std::move(options);
    state_->slots.max_per_origin = std::max<std::size_t>(1, state_->options.max_per_origin);
    if (auto ec = set_up_tls_client(state_->ctx, state_->options.ca_file, TlsTrust::SystemAndFile))
        state_->init_error = "cannot load ca_file " + state_->options.ca_file->string() + ": " + ec.message();
}

HttpClient::~HttpClient() = default;

std::size_t HttpClient::idle_connections() const {
    std::size_t n = 0;
    for (auto& [_, v] : state_->idle) n += v.size();
    return n;
}

void HttpClient::close_idle() { state_->idle.clear(); }

std::size_t HttpClient::peak_in_flight() const { return state_->slots.peak; }

net::awaitable<std::unique_ptr<HttpClient::Connection>> HttpClient::connect(const std::string& host, std::uint16_t port,
                                                                            Clock::time_point deadline,
                                                                            HttpResult& result) {
    auto ex = co_await net::this_coro::executor;
    tcp::resolver resolver(ex);
    net::steady_timer timer(ex, deadline);
    auto resolved =
        co_await (resolver.async_resolve(host, std::to_string(port), use_tuple) || timer.async_wait(use_tuple));
    if (resolved.index() == 1) {
        result.ec = beast::error::timeout;
        result.where = "resolve";
        co_return nullptr;
    }
    auto [rec, endpoints] = std::get<0>(std::move(resolved));
    if (rec) {
        result.ec = rec;
        result.where = "resolve";
        co_return nullptr;
    }

    auto conn = std::make_unique<Connection>(ex, state_->ctx);
    auto& tcp_layer = beast::get_lowest_layer(conn->stream);
    tcp_layer.expires_at(deadline);
    auto [cec, _] = co_await tcp_layer.async_connect(endpoints, use_tuple);
    if (cec) {
        result.ec = cec;
        result.where = "connect";
        co_return nullptr;
    }
    ++opened_;
    if (auto hec = co_await tls_client_handshake(conn->stream, host, ssl::host_name_verification(host), deadline)) {
        result.ec = hec;
        result.where = "handshake";
        co_return nullptr;
    }
    co_return conn;
}

net::awaitable<HttpResult> HttpClient::request(HttpRequest req, Clock::time_point deadline) {
    HttpResult result;
    if (!state_->init_error.empty()) {
        result.ec = net::error::invalid_argument;
        result.where = state_->init_error;
        co_return result;
    }
    const Origin& origin = req.origin;
    if (!origin.https || origin.host.empty() || req.target.empty() || req.target.front() != '/') {
        result.ec = net::error::invalid_argument;
        result.where = "url (not an absolute https URL)";
        co_return result;
    }

    http::request<http::string_body> msg{req.method, req.target, 11};
    msg.set(http::field::host, origin.host_header);
    msg.set(http::field::user_agent, "intune-gate/" IG_VERSION);
    msg.keep_alive(true);
    for (auto& [name, value] : req.headers) msg.set(name, value);
    if (!req.body.empty() || req.method == http::verb::post || req.method == http::verb::put)
        msg.body() = std::move(req.body);
    msg.prepare_payload();

    const auto key = origin.key();
    if (!co_await state_->slots.acquire(key, deadline)) {
        result.ec = beast::error::timeout;
        result.where = "waiting for a connection (intune.max_graph_connections in use)";
        co_return result;
    }
    const SlotHeld held{state_->slots, key};
    for (int attempt = 0; attempt < 2; ++attempt) {
        result = HttpResult{};
        std::unique_ptr<Connection> conn;
        if (auto& pool = state_->idle[key]; !pool.empty()) {
            conn = std::move(pool.back());
            pool.pop_back();
        }
        const bool reused = conn != nullptr;
        if (!conn) {
            conn = co_await connect(origin.host, origin.port, deadline, result);
            if (!conn) co_return result;
        }
        conn->buffer.clear();
        auto& tcp_layer = beast::get_lowest_layer(conn->stream);
        tcp_layer.expires_at(deadline);

        auto [wec, wn] = co_await http::async_write(conn->stream, msg, use_tuple);
        BoundedResponseParser<http::string_body> parser;
        parser.body_limit(state_->options.body_limit);
        parser.header_limit(header_limit);
        beast::error_code rec;
        if (!wec) std::tie(rec, std::ignore) = co_await http::async_read(conn->stream, conn->buffer, parser, use_tuple);
        const auto ec = wec ? wec : rec;
        if (!ec) {
            auto& res = parser.get();
            result.response.status = res.result_int();
            result.response.content_type = std::string(res[http::field::content_type]);
            result.response.retry_after = std::string(res["Retry-After"]);
            result.response.request_id = printable_ascii(res["request-id"], 80);
            result.response.client_request_id = printable_ascii(res["client-request-id"], 80);
            result.response.www_authenticate = printable_ascii(res[http::field::www_authenticate], 1024);
            const bool keep = res.keep_alive();
            result.response.body = std::move(res.body());
            if (keep && conn->buffer.size() == 0) {
                tcp_layer.expires_never();
                auto& pool = state_->idle[key];  // looked up again: the map may have changed meanwhile
                if (pool.size() < state_->options.max_idle_per_origin) pool.push_back(std::move(conn));
            }
            co_return result;
        }
        result.ec = ec;
        result.where = wec ? "write" : "read";
        // A kept-alive connection the server has closed meanwhile: try once more on a new one.
        if (reused && !parser.got_some() && ec != beast::error::timeout && Clock::now() < deadline) continue;
        co_return result;
    }
    co_return result;
}

}  // namespace ig
