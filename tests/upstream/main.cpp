// intune-sample-upstream: a plain-HTTP echo server for tests and the demo. Every request gets 200
// and a JSON body with what arrived: method, target, headers (as [name, value]), body length and
// SHA-256. /slow?ms=N answers after N ms. Keep-alive. Logs one JSON line per request on stdout.
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>

#include <nlohmann/json.hpp>
#include <openssl/evp.h>

#include <charconv>
#include <iostream>
#include <string>

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

constexpr auto nothrow = net::as_tuple(net::use_awaitable);

std::string sha256_hex(const std::string& data) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(data.data(), data.size(), digest, &len, EVP_sha256(), nullptr);
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < len; ++i) {
        out.push_back(hex[digest[i] >> 4]);
        out.push_back(hex[digest[i] & 0xf]);
    }
    return out;
}

int slow_ms(std::string_view target) {
    auto url = boost::urls::parse_origin_form(target);
    if (!url || url->path() != "/slow") return 0;
    auto it = url->params().find("ms");
    if (it == url->params().end()) return 0;
    int ms = 0;
    const std::string v = (*it).value;
    std::from_chars(v.data(), v.data() + v.size(), ms);
    return std::clamp(ms, 0, 600000);
}

net::awaitable<void> serve(tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    for (;;) {
        http::request_parser<http::string_body> parser;
        parser.header_limit(1024 * 1024);
        parser.body_limit(256 * 1024 * 1024);
        stream.expires_after(std::chrono::seconds(120));
        auto [ec, n] = co_await http::async_read(stream, buffer, parser, nothrow);
        if (ec) co_return;
        auto& req = parser.get();
        nlohmann::json headers = nlohmann::json::array();
        for (const auto& f : req) headers.push_back({std::string(f.name_string()), std::string(f.value())});
        nlohmann::json body = {{"method", std::string(req.method_string())},
                               {"target", std::string(req.target())},
                               {"version", req.version()},
                               {"headers", headers},
                               {"body_length", req.body().size()},
                               {"body_sha256", sha256_hex(req.body())}};
        // One line per request so tests can tell whether the upstream was reached at all.
        std::cout << nlohmann::json{{"request", body["method"]}, {"target", body["target"]}}.dump(
                         -1, ' ', false, nlohmann::json::error_handler_t::replace)
                  << std::endl;
        if (int ms = slow_ms(req.target())) {
            net::steady_timer timer(stream.get_executor(), std::chrono::milliseconds(ms));
            co_await timer.async_wait(nothrow);
        }
        http::response<http::string_body> res{http::status::ok, req.version()};
        res.set(http::field::content_type, "application/json");
        res.set("X-Upstream", "intune-sample-upstream");
        res.body() = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
        res.keep_alive(req.keep_alive());
        res.prepare_payload();
        auto [wec, wn] = co_await http::async_write(stream, res, nothrow);
        if (wec || !res.keep_alive()) break;
    }
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
}

net::awaitable<void> listen(tcp::acceptor& acceptor) {
    for (;;) {
        auto [ec, socket] = co_await acceptor.async_accept(nothrow);
        if (ec) continue;
        net::co_spawn(acceptor.get_executor(), serve(std::move(socket)), net::detached);
    }
}

}  // namespace

int main(int argc, char** argv) {
    std::string address = "127.0.0.1";
    std::uint16_t port = 8080;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string_view opt = argv[i];
        if (opt == "--port") port = static_cast<std::uint16_t>(std::stoi(argv[i + 1]));
        else if (opt == "--address") address = argv[i + 1];
        else {
            std::cerr << "usage: intune-sample-upstream [--port P] [--address A]\n";
            return 2;
        }
    }
    if (argc % 2 == 0) {
        std::cerr << "usage: intune-sample-upstream [--port P] [--address A]\n";
        return 2;
    }
    try {
        net::io_context io(1);
        tcp::acceptor acceptor(io, tcp::endpoint(net::ip::make_address(address), port));
        const auto ep = acceptor.local_endpoint();
        std::cout << "listening on http://" << ep.address().to_string() << ':' << ep.port() << std::endl;
        net::signal_set signals(io, SIGINT, SIGTERM);
        signals.async_wait([&](auto, int) { io.stop(); });
        net::co_spawn(io, listen(acceptor), net::detached);
        io.run();
    } catch (const std::exception& e) {
        std::cerr << "intune-sample-upstream: " << e.what() << '\n';
        return 1;
    }
    return 0;
}
