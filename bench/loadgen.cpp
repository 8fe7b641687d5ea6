// intune-loadgen: an HTTPS load generator that presents a client certificate, for bench/run.sh.
//
// One io_context per thread, one coroutine per connection, a body-discarding parser that
// allocates nothing, latency samples in preallocated per-thread vectors. It can also read the
// CPU time and RSS of the process under test (and its children) at the edges of the measured
// window, so the numbers cover exactly the requests that were counted.
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>
#include <nlohmann/json.hpp>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using clock_type = std::chrono::steady_clock;
using tls_stream = beast::ssl_stream<beast::tcp_stream>;

namespace ig::bench {
namespace {

constexpr auto nothrow = net::as_tuple(net::use_awaitable);

constexpr std::string_view usage =
    "usage: intune-loadgen --url https://127.0.0.1:PORT/path --cert CRT --key KEY --cacert CA\n"
    "         [--mode keepalive|handshake|resume] [--connections N] [--threads T]\n"
    "         [--duration S] [--warmup S] [--timeout S] [--label NAME] [--watch-pid PID]...\n"
    "         [--header 'Name: value']...\n"
    "       intune-loadgen --idle N --url ... --cert ... --key ... --cacert ... [--duration S]\n"
    "  keepalive: many requests per connection; handshake: a new TLS connection (full handshake,\n"
    "  no resumption) per request; resume: a new TLS connection per request that resumes the session\n"
    "  (TLS 1.3 ticket) of the connection before it. --idle N opens N keep-alive connections, does one request on\n"
    "  each and holds them for --duration seconds. --watch-pid reports the CPU time (and RSS) of\n"
    "  that process and its descendants over the measured window. The last stdout line is JSON.\n"
    "       intune-loadgen --mode authz --url http://127.0.0.1:PORT/authz --cert CRT --cert-header NAME ...\n"
    "  authz: plain-HTTP keep-alive checks against an authorization endpoint, the --cert certificate\n"
    "  sent in header NAME as an RFC 9440 byte sequence (:base64 DER:), as a proxy would.\n";

struct options {
    std::string url, cert, key, cacert, label;
    std::string cert_header;  // authz mode: the header that carries --cert
    std::string mode = "keepalive";
    int connections = 50;
    int threads = 1;
    int idle = 0;
    double duration = 10;
    double warmup = 2;
    double timeout = 5;
    std::vector<int> watch_pids;
    std::vector<std::string> headers;  // --header "Name: value", added to every request
};

template <class T>
bool parse_number(std::string_view s, T& out) {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc{} && end == s.data() + s.size();
}

std::optional<options> parse_args(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        std::string_view flag = argv[i];
        if (flag == "--help" || flag == "-h") return std::nullopt;
        if (i + 1 >= argc) {
            std::cerr << "intune-loadgen: " << flag << " needs a value\n";
            return std::nullopt;
        }
        std::string_view v = argv[++i];
        bool ok = true;
        int pid = 0;
        if (flag == "--url")
            o.url = v;
        else if (flag == "--cert")
            o.cert = v;
        else if (flag == "--key")
            o.key = v;
        else if (flag == "--cacert")
            o.cacert = v;
        else if (flag == "--label")
            o.label = v;
        else if (flag == "--mode") {
            o.mode = v;
            ok = o.mode == "keepalive" || o.mode == "handshake" || o.mode == "resume" || o.mode == "authz";
        } else if (flag == "--cert-header")
            o.cert_header = v;
        else if (flag == "--connections")
            ok = parse_number(v, o.connections) && o.connections > 0;
        else if (flag == "--threads")
            ok = parse_number(v, o.threads) && o.threads > 0 && o.threads <= 64;
        else if (flag == "--idle")
            ok = parse_number(v, o.idle) && o.idle > 0;
        else if (flag == "--duration")
            ok = parse_number(v, o.duration) && o.duration > 0;
        else if (flag == "--warmup")
            ok = parse_number(v, o.warmup) && o.warmup >= 0;
        else if (flag == "--timeout")
            ok = parse_number(v, o.timeout) && o.timeout > 0;
        else if (flag == "--watch-pid") {
            ok = parse_number(v, pid) && pid > 0;
            o.watch_pids.push_back(pid);
        } else if (flag == "--header") {
            ok = v.find(':') != std::string_view::npos && v.find_first_of("\r\n") == std::string_view::npos;
            o.headers.emplace_back(v);
        } else {
            std::cerr << "intune-loadgen: unknown option " << flag << '\n';
            return std::nullopt;
        }
        if (!ok) {
            std::cerr << "intune-loadgen: bad value for " << flag << ": " << v << '\n';
            return std::nullopt;
        }
    }
    if (o.mode == "authz") {
        if (o.url.empty() || o.cert.empty() || o.cert_header.empty() || o.idle > 0) {
            std::cerr << "intune-loadgen: --mode authz needs --url, --cert and --cert-header (and no --idle)\n";
            return std::nullopt;
        }
    } else if (o.url.empty() || o.cert.empty() || o.key.empty() || o.cacert.empty()) {
        std::cerr << "intune-loadgen: --url, --cert, --key and --cacert are required\n";
        return std::nullopt;
    }
    return o;
}

// ---- /proc readings of the process under test -------------------------------------------------

struct proc_sample {
    double cpu_s = 0;  // utime + stime of the watched processes and their descendants
    std::uint64_t rss_kb = 0;
    int processes = 0;
};

// The watched PIDs plus all their descendants (nginx's workers, for instance).
std::set<int> process_tree(const std::vector<int>& roots) {
    std::multimap<int, int> children;
    for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
        int pid = 0;
        if (!parse_number(entry.path().filename().string(), pid)) continue;
        std::ifstream in(entry.path() / "stat");
        std::string stat;
        if (!std::getline(in, stat)) continue;
        auto paren = stat.rfind(')');
        if (paren == std::string::npos) continue;
        std::istringstream rest(stat.substr(paren + 2));
        char state = 0;
        int ppid = 0;
        if (rest >> state >> ppid) children.emplace(ppid, pid);
    }
    std::set<int> tree;
    std::vector<int> todo(roots.begin(), roots.end());
    while (!todo.empty()) {
        int pid = todo.back();
        todo.pop_back();
        if (!tree.insert(pid).second) continue;
        auto [b, e] = children.equal_range(pid);
        for (auto it = b; it != e; ++it) todo.push_back(it->second);
    }
    return tree;
}

proc_sample read_processes(const std::vector<int>& roots) {
    proc_sample s;
    if (roots.empty()) return s;
    static const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
    for (int pid : process_tree(roots)) {
        std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
        std::string stat;
        if (!std::getline(in, stat)) continue;
        auto paren = stat.rfind(')');
        if (paren == std::string::npos) continue;
        std::istringstream rest(stat.substr(paren + 2));
        std::string field;
        std::uint64_t utime = 0, stime = 0;
        // After "(comm) ": state is field 3 of stat(5); utime and stime are fields 14 and 15.
        for (int n = 3; n <= 15 && rest >> field; ++n) {
            if (n == 14) parse_number(field, utime);
            if (n == 15) parse_number(field, stime);
        }
        s.cpu_s += static_cast<double>(utime + stime) / ticks;
        ++s.processes;
        std::ifstream status("/proc/" + std::to_string(pid) + "/status");
        for (std::string line; std::getline(status, line);) {
            if (line.rfind("VmRSS:", 0) == 0) {
                std::istringstream kb(line.substr(6));
                std::uint64_t v = 0;
                kb >> v;
                s.rss_kb += v;
                break;
            }
        }
    }
    return s;
}

double self_cpu_s() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    auto tv = [](const timeval& t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
    return tv(ru.ru_utime) + tv(ru.ru_stime);
}

// ---- HTTP -------------------------------------------------------------------------------------

// Parses a response and throws the fields and body away: nothing is allocated per request.
class discard_parser final : public http::basic_parser<false> {
public:
    int status = 0;

private:
    void on_request_impl(http::verb, beast::string_view, beast::string_view, int, beast::error_code&) override {}
    void on_response_impl(int code, beast::string_view, int, beast::error_code&) override { status = code; }
    void on_field_impl(http::field, beast::string_view, beast::string_view, beast::error_code&) override {}
    void on_header_impl(beast::error_code&) override {}
    void on_body_init_impl(const boost::optional<std::uint64_t>&, beast::error_code&) override {}
    std::size_t on_body_impl(beast::string_view body, beast::error_code&) override { return body.size(); }
    void on_chunk_header_impl(std::uint64_t, beast::string_view, beast::error_code&) override {}
    std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view body, beast::error_code&) override {
        return body.size();
    }
    void on_finish_impl(beast::error_code&) override {}
};

struct target {
    tcp::endpoint endpoint;
    std::string host;  // for SNI (names only) and certificate verification
    bool host_is_ip = false;
    std::string request;  // serialized once, reused for every request
    std::chrono::steady_clock::duration timeout;
    bool handshake_mode = false;  // one request per connection (handshake and resume modes)
    bool resume_mode = false;  // each connection resumes the session of the one before
    bool plain = false;  // authz mode: plain HTTP, no TLS
    clock_type::time_point start, measure, end;
};

struct counters {
    std::uint64_t ok = 0;  // 1xx-3xx answers completed in the window
    std::uint64_t http_errors = 0;  // 4xx/5xx answers in the window
    std::uint64_t connect_errors = 0, tls_errors = 0, io_errors = 0, timeouts = 0;
    std::uint64_t connections = 0;  // TLS handshakes completed in the window
    std::uint64_t resumed = 0;  // of those, resumed sessions (SSL_session_reused)
    std::uint64_t errors() const { return http_errors + connect_errors + tls_errors + io_errors + timeouts; }
};

struct worker {
    ssl::context tls{ssl::context::tls_client};
    std::vector<std::uint32_t> samples;  // latency in µs of the answers counted in `c.ok`
    counters c;
    std::string last_error;
    // Destroyed before the streams' context (a coroutine frame still in it goes with it) and
    // after the held streams, which live on its executor.
    net::io_context ioc{1};
    std::vector<std::unique_ptr<tls_stream>> held;  // --idle: connections kept open
    std::thread thread;
};

void configure_tls(ssl::context& tls, const options& o, const target& t) {
    tls.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                    ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    tls.load_verify_file(o.cacert);
    tls.use_certificate_chain_file(o.cert);
    tls.use_private_key_file(o.key, ssl::context::pem);
    tls.set_verify_mode(ssl::verify_peer);
    // Every connection must do a full handshake: no session cache, no tickets. In resume mode
    // each lane keeps its last session itself (SSL_get1_session) and offers it on the next one.
    SSL_CTX_set_session_cache_mode(tls.native_handle(), SSL_SESS_CACHE_OFF);
    if (!t.resume_mode) SSL_CTX_set_options(tls.native_handle(), SSL_OP_NO_TICKET);
    auto* param = SSL_CTX_get0_param(tls.native_handle());
    int set = t.host_is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, t.host.c_str())
                           : X509_VERIFY_PARAM_set1_host(param, t.host.c_str(), t.host.size());
    if (set != 1) throw std::runtime_error("cannot set the expected server name " + t.host);
}

bool in_window(const target& t, clock_type::time_point at) { return at >= t.measure && at < t.end; }

void count_failure(worker& w, const target& t, std::uint64_t counters::*which, const beast::error_code& ec,
                   const char* what) {
    if (ec == beast::error::timeout && which != &counters::connect_errors) which = &counters::timeouts;
    if (in_window(t, clock_type::now())) ++(w.c.*which);
    w.last_error = std::string(what) + ": " + ec.message();
}

// Connects and completes the TLS handshake; counts the failure and returns false otherwise.
using session_ptr = std::unique_ptr<SSL_SESSION, decltype(&SSL_SESSION_free)>;

net::awaitable<bool> open(tls_stream& stream, worker& w, const target& t, SSL_SESSION* resume = nullptr) {
    auto& tcp_layer = beast::get_lowest_layer(stream);
    tcp_layer.expires_after(t.timeout);
    auto [ec] = co_await tcp_layer.async_connect(t.endpoint, nothrow);
    if (ec) {
        count_failure(w, t, &counters::connect_errors, ec, "connect");
        co_return false;
    }
    tcp_layer.socket().set_option(tcp::no_delay(true), ec);
    if (!t.host_is_ip) SSL_set_tlsext_host_name(stream.native_handle(), t.host.c_str());
    if (resume) SSL_set_session(stream.native_handle(), resume);
    tcp_layer.expires_after(t.timeout);
    std::tie(ec) = co_await stream.async_handshake(ssl::stream_base::client, nothrow);
    if (ec) {
        count_failure(w, t, &counters::tls_errors, ec, "tls handshake");
        co_return false;
    }
    if (in_window(t, clock_type::now())) {
        ++w.c.connections;
        if (SSL_session_reused(stream.native_handle())) ++w.c.resumed;
    }
    co_return true;
}

// One request and its response on an open stream. Returns the status, or 0 on an I/O failure.
template <class Stream>
net::awaitable<int> exchange(Stream& stream, beast::flat_buffer& buffer, worker& w, const target& t, bool& keep_alive) {
    auto& tcp_layer = beast::get_lowest_layer(stream);
    tcp_layer.expires_after(t.timeout);
    auto [ec, n] = co_await net::async_write(stream, net::buffer(t.request), nothrow);
    if (ec) {
        count_failure(w, t, &counters::io_errors, ec, "write");
        co_return 0;
    }
    discard_parser parser;
    parser.header_limit(64 * 1024);
    parser.body_limit(16 * 1024 * 1024);
    std::tie(ec, n) = co_await http::async_read(stream, buffer, parser, nothrow);
    if (ec) {
        count_failure(w, t, &counters::io_errors, ec, "read");
        co_return 0;
    }
    keep_alive = parser.keep_alive();
    co_return parser.status;
}

void record(worker& w, const target& t, int status, clock_type::time_point began) {
    auto done = clock_type::now();
    if (!in_window(t, done)) return;
    if (status >= 400) {
        ++w.c.http_errors;
        w.last_error = "http status " + std::to_string(status);
        return;
    }
    ++w.c.ok;
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(done - began).count();
    w.samples.push_back(static_cast<std::uint32_t>(std::min<long long>(us, UINT32_MAX)));
}

net::awaitable<void> pause_after_error(const target& t) {
    // Keeps a refusing server from turning the loop into a busy spin.
    net::steady_timer timer(co_await net::this_coro::executor, std::chrono::milliseconds(20));
    co_await timer.async_wait(nothrow);
}

void close(tls_stream& stream) {
    beast::error_code ec;
    beast::get_lowest_layer(stream).socket().close(ec);
}

net::awaitable<void> load_connection(worker& w, const target& t) {
    auto executor = co_await net::this_coro::executor;
    beast::flat_buffer buffer;
    buffer.reserve(16 * 1024);
    session_ptr session(nullptr, &SSL_SESSION_free);  // resume mode: the session to offer next
    while (clock_type::now() < t.end) {
        tls_stream stream(executor, w.tls);
        buffer.clear();
        auto began = clock_type::now();
        if (!co_await open(stream, w, t, session.get())) {
            session.reset();  // refused: start over with a full handshake
            close(stream);
            co_await pause_after_error(t);
            continue;
        }
        bool keep_alive = true;
        do {
            if (!t.handshake_mode) began = clock_type::now();
            int status = co_await exchange(stream, buffer, w, t, keep_alive);
            if (status == 0) {
                keep_alive = false;
                co_await pause_after_error(t);
                break;
            }
            record(w, t, status, began);
        } while (keep_alive && !t.handshake_mode && clock_type::now() < t.end);
        if (t.resume_mode) {
            // The TLS 1.3 ticket came with the response. The connection is marked shut (the server
            // closes it after its close_notify): OpenSSL would otherwise mark the session as not
            // resumable when the SSL object goes.
            SSL* ssl = stream.native_handle();
            SSL_set_shutdown(ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
            if (SSL_SESSION* s = SSL_get1_session(ssl)) {
                if (SSL_SESSION_is_resumable(s))
                    session.reset(s);
                else
                    SSL_SESSION_free(s);
            }
        }
        close(stream);
    }
}

// authz mode: plain-HTTP keep-alive checks, as a proxy sends them to its authorization service.
net::awaitable<void> load_plain_connection(worker& w, const target& t) {
    auto executor = co_await net::this_coro::executor;
    beast::flat_buffer buffer;
    buffer.reserve(16 * 1024);
    while (clock_type::now() < t.end) {
        beast::tcp_stream stream(executor);
        buffer.clear();
        stream.expires_after(t.timeout);
        auto [ec] = co_await stream.async_connect(t.endpoint, nothrow);
        if (ec) {
            count_failure(w, t, &counters::connect_errors, ec, "connect");
            co_await pause_after_error(t);
            continue;
        }
        stream.socket().set_option(tcp::no_delay(true), ec);
        if (in_window(t, clock_type::now())) ++w.c.connections;
        bool keep_alive = true;
        do {
            auto began = clock_type::now();
            int status = co_await exchange(stream, buffer, w, t, keep_alive);
            if (status == 0) {
                keep_alive = false;
                co_await pause_after_error(t);
                break;
            }
            record(w, t, status, began);
        } while (keep_alive && clock_type::now() < t.end);
        stream.socket().close(ec);
    }
}

// The certificate file's leaf as an RFC 9440 byte sequence: ":" base64(DER) ":".
std::string rfc9440_value(const std::string& cert_file) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_file(cert_file.c_str(), "r"), &BIO_free);
    if (!bio) throw std::runtime_error("cannot read " + cert_file);
    std::unique_ptr<X509, decltype(&X509_free)> cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr),
                                                     &X509_free);
    if (!cert) throw std::runtime_error("no PEM certificate in " + cert_file);
    unsigned char* der = nullptr;
    const int n = i2d_X509(cert.get(), &der);
    std::string out(4 * ((static_cast<std::size_t>(n) + 2) / 3) + 1, '\0');
    const int m = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), der, n);
    OPENSSL_free(der);
    out.resize(static_cast<std::size_t>(m));
    return ":" + out + ":";
}

// --idle: opens connections from a shared counter until `total` were tried; keeps those that
// answered.
net::awaitable<void> idle_opener(worker& w, const target& t, std::atomic<int>& next, int total,
                                 clock_type::time_point deadline, std::atomic<int>& opened,
                                 std::atomic<int>& finished_lanes) {
    auto executor = co_await net::this_coro::executor;
    beast::flat_buffer buffer;
    while (clock_type::now() < deadline && next.fetch_add(1) < total) {
        auto stream = std::make_unique<tls_stream>(executor, w.tls);
        buffer.clear();
        bool keep_alive = true;
        if (!co_await open(*stream, w, t)) continue;
        int status = co_await exchange(*stream, buffer, w, t, keep_alive);
        if (status == 0 || status >= 400 || !keep_alive) {
            if (status >= 400) w.last_error = "http status " + std::to_string(status);
            ++w.c.io_errors;
            continue;
        }
        beast::get_lowest_layer(*stream).expires_never();
        w.held.push_back(std::move(stream));
        ++opened;
    }
    ++finished_lanes;
}

// After the hold: one more request on every held connection tells how many are still open.
net::awaitable<void> idle_checker(worker& w, const target& t, clock_type::time_point deadline, std::atomic<int>& alive,
                                  std::atomic<int>& finished) {
    beast::flat_buffer buffer;
    for (auto& stream : w.held) {
        if (clock_type::now() >= deadline) break;  // the rest count as not answering
        buffer.clear();
        bool keep_alive = true;
        if (co_await exchange(*stream, buffer, w, t, keep_alive) > 0) ++alive;
        close(*stream);
    }
    ++finished;
}

// ---- results ----------------------------------------------------------------------------------

std::uint32_t percentile(std::vector<std::uint32_t>& v, double p) {
    if (v.empty()) return 0;
    auto k = static_cast<std::size_t>(p / 100.0 * static_cast<double>(v.size() - 1) + 0.5);
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
    return v[k];
}

target make_target(const options& o) {
    auto url = boost::urls::parse_uri(o.url);
    const bool plain = o.mode == "authz";
    if (!url || url->scheme() != (plain ? "http" : "https") || url->host().empty())
        throw std::runtime_error(plain ? "--url must be an http:// URL in authz mode"
                                       : "--url must be an https:// URL");
    target t;
    t.plain = plain;
    t.host = url->host_address();
    t.host_is_ip = url->host_type() == boost::urls::host_type::ipv4 || url->host_type() == boost::urls::host_type::ipv6;
    std::uint16_t port = url->has_port() ? url->port_number() : (plain ? 80 : 443);
    net::io_context ioc;
    tcp::resolver resolver(ioc);
    auto results = resolver.resolve(t.host, std::to_string(port), tcp::resolver::numeric_service);
    if (results.empty()) throw std::runtime_error("cannot resolve " + t.host);
    t.endpoint = results.begin()->endpoint();
    std::string path = url->encoded_target().empty() ? "/" : std::string(url->encoded_target());
    t.resume_mode = o.mode == "resume";
    t.handshake_mode = o.mode == "handshake" || t.resume_mode;
    t.request = "GET " + path + " HTTP/1.1\r\nHost: " + std::string(url->encoded_host_and_port()) +
                "\r\nUser-Agent: intune-loadgen\r\nAccept: */*\r\n" +
                (t.handshake_mode ? "Connection: close\r\n" : "") +
                (plain ? o.cert_header + ": " + rfc9440_value(o.cert) + "\r\n" : std::string());
    for (auto& h : o.headers) t.request += h + "\r\n";
    t.request += "\r\n";
    t.timeout = std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(o.timeout));
    return t;
}

std::vector<std::unique_ptr<worker>> make_workers(const options& o, const target& t) {
    std::vector<std::unique_ptr<worker>> workers;
    for (int i = 0; i < o.threads; ++i) {
        auto w = std::make_unique<worker>();
        if (!t.plain) configure_tls(w->tls, o, t);
        workers.push_back(std::move(w));
    }
    return workers;
}

std::string first_error(const std::vector<std::unique_ptr<worker>>& workers) {
    for (const auto& w : workers)
        if (!w->last_error.empty()) return w->last_error;
    return {};
}

auto since(clock_type::time_point a) { return std::chrono::duration<double>(clock_type::now() - a).count(); }

int run_load(const options& o) {
    target t = make_target(o);
    auto workers = make_workers(o, t);
    auto seconds = [](double s) {
        return std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(s));
    };
    t.start = clock_type::now();
    t.measure = t.start + seconds(o.warmup);
    t.end = t.measure + seconds(o.duration);
    // Enough room for ~200k answers/s per thread without growing during the run.
    auto expected = static_cast<std::size_t>(std::min(o.duration * 200000.0 / o.threads, 8e6));
    for (auto& w : workers) w->samples.reserve(expected);
    for (int i = 0; i < o.connections; ++i) {
        auto& w = *workers[static_cast<std::size_t>(i % o.threads)];
        if (t.plain)
            net::co_spawn(w.ioc, load_plain_connection(w, t), net::detached);
        else
            net::co_spawn(w.ioc, load_connection(w, t), net::detached);
    }
    for (auto& w : workers) w->thread = std::thread([&ioc = w->ioc] { ioc.run(); });

    std::this_thread::sleep_until(t.measure);
    auto proc0 = read_processes(o.watch_pids);
    double self0 = self_cpu_s();
    auto m0 = clock_type::now();
    std::this_thread::sleep_until(t.end);
    auto proc1 = read_processes(o.watch_pids);
    double self1 = self_cpu_s();
    double window = since(m0);
    // Answers still in flight at the end are not counted; the connections are dropped.
    for (auto& w : workers) w->ioc.stop();
    for (auto& w : workers) w->thread.join();

    counters total;
    std::vector<std::uint32_t> samples;
    for (auto& w : workers) {
        total.ok += w->c.ok;
        total.http_errors += w->c.http_errors;
        total.connect_errors += w->c.connect_errors;
        total.tls_errors += w->c.tls_errors;
        total.io_errors += w->c.io_errors;
        total.timeouts += w->c.timeouts;
        total.connections += w->c.connections;
        total.resumed += w->c.resumed;
        samples.insert(samples.end(), w->samples.begin(), w->samples.end());
    }
    double rps = static_cast<double>(total.ok) / o.duration;
    auto p50 = percentile(samples, 50), p99 = percentile(samples, 99), p999 = percentile(samples, 99.9);
    auto pmax = samples.empty() ? 0u : *std::max_element(samples.begin(), samples.end());
    double proxy_cpu = proc1.cpu_s - proc0.cpu_s;
    double done = static_cast<double>(std::max<std::uint64_t>(total.ok, 1));

    std::printf("%s mode=%s url=%s connections=%d threads=%d warmup=%.1fs duration=%.1fs\n",
                o.label.empty() ? "intune-loadgen" : o.label.c_str(), o.mode.c_str(), o.url.c_str(), o.connections,
                o.threads, o.warmup, o.duration);
    std::printf("  requests   %llu ok in %.2f s = %.0f req/s, %llu TLS handshakes (%llu resumed)\n",
                static_cast<unsigned long long>(total.ok), window, rps,
                static_cast<unsigned long long>(total.connections), static_cast<unsigned long long>(total.resumed));
    std::printf("  latency    p50 %u us, p99 %u us, p99.9 %u us, max %u us\n", p50, p99, p999, pmax);
    std::printf("  errors     %llu (http %llu, connect %llu, tls %llu, io %llu, timeout %llu)%s%s\n",
                static_cast<unsigned long long>(total.errors()), static_cast<unsigned long long>(total.http_errors),
                static_cast<unsigned long long>(total.connect_errors),
                static_cast<unsigned long long>(total.tls_errors), static_cast<unsigned long long>(total.io_errors),
                static_cast<unsigned long long>(total.timeouts),
                first_error(workers).empty() ? "" : ", last: ", first_error(workers).c_str());
    if (!o.watch_pids.empty())
        std::printf("  server cpu %.3f s over %d process(es) = %.1f us/request, rss %llu kB\n", proxy_cpu,
                    proc1.processes, proxy_cpu * 1e6 / done, static_cast<unsigned long long>(proc1.rss_kb));
    std::printf("  client cpu %.3f s = %.1f us/request\n", self1 - self0, (self1 - self0) * 1e6 / done);

    nlohmann::json j = {
        {"label", o.label},
        {"mode", o.mode},
        {"url", o.url},
        {"connections", o.connections},
        {"threads", o.threads},
        {"duration_s", o.duration},
        {"warmup_s", o.warmup},
        {"requests", total.ok},
        {"rps", std::round(rps * 10) / 10},
        {"handshakes", total.connections},
        {"resumed", total.resumed},
        {"reuse_rate",
         total.connections
             ? std::round(1000.0 * static_cast<double>(total.resumed) / static_cast<double>(total.connections)) / 1000
             : 0.0},
        {"p50_us", p50},
        {"p99_us", p99},
        {"p999_us", p999},
        {"max_us", pmax},
        {"errors", total.errors()},
        {"error_kinds",
         {{"http", total.http_errors},
          {"connect", total.connect_errors},
          {"tls", total.tls_errors},
          {"io", total.io_errors},
          {"timeout", total.timeouts}}},
        {"client_cpu_us_per_req", std::round((self1 - self0) * 1e7 / done) / 10}};
    if (!o.watch_pids.empty()) {
        j["server_cpu_s"] = std::round(proxy_cpu * 1000) / 1000;
        j["server_cpu_us_per_req"] = std::round(proxy_cpu * 1e7 / done) / 10;
        j["server_processes"] = proc1.processes;
        j["server_rss_kb"] = proc1.rss_kb;
    }
    std::cout << j.dump() << std::endl;
    return total.ok > 0 ? 0 : 1;
}

int run_idle(const options& o) {
    target t = make_target(o);
    auto workers = make_workers(o, t);
    t.start = t.measure = clock_type::now();
    t.end = clock_type::time_point::max();
    auto before = read_processes(o.watch_pids);

    // Bounded however the server behaves: opening and the final check each get a fixed budget.
    constexpr auto open_budget = std::chrono::seconds(180), check_budget = std::chrono::seconds(60);
    std::atomic<int> next{0}, opened{0}, finished_lanes{0};
    int lanes = std::min(o.connections, o.idle);
    for (int i = 0; i < lanes; ++i) {
        auto& w = *workers[static_cast<std::size_t>(i % o.threads)];
        net::co_spawn(w.ioc, idle_opener(w, t, next, o.idle, t.start + open_budget, opened, finished_lanes),
                      net::detached);
    }
    std::vector<net::executor_work_guard<net::io_context::executor_type>> guards;
    for (auto& w : workers) guards.push_back(net::make_work_guard(w->ioc));
    for (auto& w : workers) w->thread = std::thread([&ioc = w->ioc] { ioc.run(); });

    auto t0 = clock_type::now();
    while (finished_lanes < lanes) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    double open_s = since(t0);
    std::fprintf(stderr, "intune-loadgen: %d of %d connections open after %.1f s; holding %.0f s\n", opened.load(),
                 o.idle, open_s, o.duration);
    std::this_thread::sleep_for(std::chrono::duration<double>(std::min(1.0, o.duration)));
    auto held = read_processes(o.watch_pids);
    std::this_thread::sleep_for(std::chrono::duration<double>(std::max(0.0, o.duration - 1.0)));
    auto after_hold = read_processes(o.watch_pids);

    std::atomic<int> alive{0}, finished{0};
    auto check_deadline = clock_type::now() + check_budget;
    for (auto& w : workers) net::co_spawn(w->ioc, idle_checker(*w, t, check_deadline, alive, finished), net::detached);
    while (finished < o.threads) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    guards.clear();
    for (auto& w : workers) w->ioc.stop();
    for (auto& w : workers) w->thread.join();

    std::printf("%s idle url=%s: %d of %d connections opened in %.1f s, %d still answering after %.0f s\n",
                o.label.empty() ? "intune-loadgen" : o.label.c_str(), o.url.c_str(), opened.load(), o.idle, open_s,
                alive.load(), o.duration);
    if (!o.watch_pids.empty())
        std::printf("  server rss %llu kB before, %llu kB with the connections open (%llu kB at the end)\n",
                    static_cast<unsigned long long>(before.rss_kb), static_cast<unsigned long long>(held.rss_kb),
                    static_cast<unsigned long long>(after_hold.rss_kb));
    if (auto e = first_error(workers); !e.empty()) std::printf("  last error: %s\n", e.c_str());
    nlohmann::json j = {{"label", o.label},
                        {"mode", "idle"},
                        {"url", o.url},
                        {"idle", o.idle},
                        {"opened", opened.load()},
                        {"alive_after_hold", alive.load()},
                        {"open_s", std::round(open_s * 10) / 10},
                        {"hold_s", o.duration}};
    if (!o.watch_pids.empty()) {
        j["server_rss_kb_before"] = before.rss_kb;
        j["server_rss_kb_held"] = held.rss_kb;
        j["server_rss_kb_end"] = after_hold.rss_kb;
        j["server_processes"] = held.processes;
    }
    std::cout << j.dump() << std::endl;
    return opened == o.idle ? 0 : 1;
}

}  // namespace
}  // namespace ig::bench

int main(int argc, char** argv) {
    auto o = ig::bench::parse_args(argc, argv);
    if (!o) {
        std::cerr << ig::bench::usage;
        return 2;
    }
    try {
        return o->idle > 0 ? ig::bench::run_idle(*o) : ig::bench::run_load(*o);
    } catch (const std::exception& e) {
        std::cerr << "intune-loadgen: " << e.what() << '\n';
        return 2;
    }
}
