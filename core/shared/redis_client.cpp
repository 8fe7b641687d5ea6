#include "core/shared/redis_client.hpp"

#include "core/text/log.hpp"
#include "core/text/text.hpp"
#include "core/tls/tls_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <hiredis/hiredis.h>

#include <algorithm>
#include <deque>

namespace ig {
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using namespace net::experimental::awaitable_operators;

namespace {
constexpr auto use_tuple = net::as_tuple(net::use_awaitable);
constexpr std::size_t max_in_flight = 4096;  // beyond this Redis is too slow to be worth waiting for
constexpr auto connect_timeout = std::chrono::seconds(2);
constexpr auto backoff_first = std::chrono::milliseconds(100);
constexpr auto backoff_max = std::chrono::seconds(5);

RedisReply failed(std::string why) {
    RedisReply r;
    r.type = RedisReply::Type::Failed;
    r.str = std::move(why);
    return r;
}

std::string format(const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (auto& a : args) {
        argv.push_back(a.data());
        lens.push_back(a.size());
    }
    char* cmd = nullptr;
    int n = redisFormatCommandArgv(&cmd, static_cast<int>(args.size()), argv.data(), lens.data());
    if (n < 0 || !cmd) return {};
    std::string out(cmd, static_cast<std::size_t>(n));
    redisFreeCommand(cmd);
    return out;
}

}  // namespace

struct RedisClient::State : std::enable_shared_from_this<State> {
    struct Op {
        std::optional<RedisReply> reply;
        net::steady_timer* waiter = nullptr;  // null: nobody waits (send(), or gave up)
    };

    State(Strand s, const SharedCacheConfig& c, std::optional<std::filesystem::path> ca, RedisMetrics& m)
        : strand(s), config(c), ctx(ssl::context::tls_client), metrics(m), wake(s) {
        if (auto ec = set_up_tls_client(ctx, ca, TlsTrust::SystemAndFile))
            ctx_error = "cannot load ca_file " + ca->string() + ": " + ec.message();
    }

    Strand strand;
    SharedCacheConfig config;
    ssl::context ctx;
    std::string ctx_error;  // the CA file could not be loaded: TLS connections are not tried
    RedisMetrics& metrics;

    std::shared_ptr<TlsClientStream> conn;  // the loops hold it too while they run
    std::unique_ptr<RespReader> reader;
    std::uint64_t generation = 0;
    bool up = false;  // handshake (AUTH/SELECT) done
    bool stopped = false;
    bool reported_down = false;  // "shared cache unavailable" logged since the last connect
    std::deque<std::shared_ptr<Op>> pending;
    std::deque<std::string> out;
    bool writing = false;
    net::steady_timer wake;  // the connection keeper sleeps on it until the connection drops

    void report_down(const std::string& why) {
        if (reported_down) return;
        reported_down = true;
        log::warn("shared cache unavailable, using the local cache and Graph",
                  {{"redis", config.url}, {"reason", one_line(why, 200)}});
    }

    void complete(const std::shared_ptr<Op>& op, RedisReply r) {
        if (r.failed() || r.type == RedisReply::Type::Error)
            metrics.failures.inc();
        else
            metrics.commands.inc();
        op->reply = std::move(r);
        if (op->waiter) op->waiter->cancel();
    }

    // `why` by value: callers pass reader->error(), and closing destroys the reader.
    void close(std::uint64_t gen, std::string why) {
        if (gen != generation || !conn) return;
        ++generation;
        boost::system::error_code ec;
        boost::beast::get_lowest_layer(*conn).socket().close(ec);
        conn.reset();
        reader.reset();
        const bool was_up = up;
        up = false;
        metrics.up.set(0);
        out.clear();
        // A write loop of the old connection may still be suspended in its write: it ends without
        // touching the state, so the next connection must start its own.
        writing = false;
        auto ops = std::move(pending);
        pending.clear();
        for (auto& op : ops) complete(op, failed(why));
        if (was_up && !stopped) report_down(why);
        wake.cancel();
    }

    bool enqueue(const std::vector<std::string>& args, const std::shared_ptr<Op>& op) {
        if (!conn || pending.size() >= max_in_flight) return false;
        auto bytes = format(args);
        if (bytes.empty()) return false;
        out.push_back(std::move(bytes));
        pending.push_back(op);
        if (!writing) {
            writing = true;
            net::co_spawn(strand, write_loop(shared_from_this(), generation), net::detached);
        }
        return true;
    }

    static net::awaitable<void> write_loop(std::shared_ptr<State> self, std::uint64_t gen) {
        while (gen == self->generation && !self->out.empty()) {
            // Everything queued so far goes out in one write.
            std::string batch;
            while (!self->out.empty()) {
                batch += self->out.front();
                self->out.pop_front();
            }
            auto keep = self->conn;
            auto& c = *keep;
            auto [ec, n] = self->config.tls ? co_await net::async_write(c, net::buffer(batch), use_tuple)
                                            : co_await net::async_write(c.next_layer(), net::buffer(batch), use_tuple);
            if (ec) {
                self->close(gen, "write: " + ec.message());
                break;
            }
        }
        if (gen == self->generation) self->writing = false;
    }

    static net::awaitable<void> read_loop(std::shared_ptr<State> self, std::uint64_t gen) {
        std::vector<char> buf(16 * 1024);
        while (gen == self->generation && self->conn) {
            auto keep = self->conn;
            auto& c = *keep;
            auto [ec, n] = self->config.tls ? co_await c.async_read_some(net::buffer(buf), use_tuple)
                                            : co_await c.next_layer().async_read_some(net::buffer(buf), use_tuple);
            if (gen != self->generation) co_return;
            if (ec) {
                self->close(gen, "read: " + ec.message());
                co_return;
            }
            if (!self->reader->feed(buf.data(), n)) {
                self->close(gen, self->reader->error());
                co_return;
            }
            for (;;) {
                auto reply = self->reader->next();
                if (!reply && !self->reader->error().empty()) {
                    self->close(gen, self->reader->error());
                    co_return;
                }
                if (!reply) break;
                RedisReply r = std::move(*reply);
                if (self->pending.empty()) {
                    self->close(gen, "a reply nobody asked for");
                    co_return;
                }
                auto op = std::move(self->pending.front());
                self->pending.pop_front();
                self->complete(op, std::move(r));
            }
        }
    }

    net::awaitable<RedisReply> call(std::vector<std::string> args, Clock::time_point deadline) {
        auto op = std::make_shared<Op>();
        if (!enqueue(args, op)) co_return failed(conn ? "too many commands in flight" : "not connected");
        net::steady_timer timer(strand, deadline);
        op->waiter = &timer;
        co_await timer.async_wait(use_tuple);
        op->waiter = nullptr;
        if (op->reply) co_return std::move(*op->reply);
        metrics.failures.inc();
        co_return failed("timed out");
    }

    // Connects, authenticates and selects the database; true when usable.
    net::awaitable<bool> connect_once() {
        if (config.tls && !ctx_error.empty()) {
            report_down(ctx_error);
            co_return false;
        }
        const auto deadline = Clock::now() + connect_timeout;
        tcp::resolver resolver(strand);
        net::steady_timer timer(strand, deadline);
        auto resolved = co_await (resolver.async_resolve(config.host, std::to_string(config.port), use_tuple) ||
                                  timer.async_wait(use_tuple));
        if (resolved.index() == 1) {
            report_down("resolve: timed out");
            co_return false;
        }
        auto [rec, endpoints] = std::get<0>(std::move(resolved));
        if (rec) {
            report_down("resolve: " + rec.message());
            co_return false;
        }
        auto stream = std::make_shared<TlsClientStream>(strand, ctx);
        auto& socket = boost::beast::get_lowest_layer(*stream).socket();
        timer.expires_at(deadline);
        auto connected = co_await (net::async_connect(socket, endpoints, use_tuple) || timer.async_wait(use_tuple));
        if (connected.index() == 1) {
            report_down("connect: timed out");
            co_return false;
        }
        if (auto cec = std::get<0>(std::get<0>(connected))) {
            report_down("connect: " + cec.message());
            co_return false;
        }
        boost::system::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        if (config.tls) {
            auto hec =
                co_await tls_client_handshake(*stream, config.host, ssl::host_name_verification(config.host), deadline);
            boost::beast::get_lowest_layer(*stream).expires_never();
            if (hec) {
                report_down("TLS handshake: " + (hec == boost::beast::error::timeout ? "timed out" : hec.message()));
                co_return false;
            }
        }
        conn = std::move(stream);
        reader = std::make_unique<RespReader>();
        const auto gen = generation;
        net::co_spawn(strand, read_loop(shared_from_this(), gen), net::detached);
        if (!config.password.value.empty()) {
            // (Named vectors: GCC 12 miscompiles braced string lists inside co_await expressions.)
            std::vector<std::string> auth{"AUTH", config.password.value};
            auto r = co_await call(std::move(auth), deadline);
            if (!r.ok_status()) {
                // Redis' error text names no secret; keep it short anyway.
                close(gen, "AUTH refused: " + one_line(r.str, 100));
                report_down("AUTH refused: " + one_line(r.str, 100));
                co_return false;
            }
        }
        if (config.database != 0) {
            std::vector<std::string> select{"SELECT", std::to_string(config.database)};
            auto r = co_await call(std::move(select), deadline);
            if (!r.ok_status()) {
                close(gen, "SELECT refused: " + one_line(r.str, 100));
                report_down("SELECT refused: " + one_line(r.str, 100));
                co_return false;
            }
        }
        if (gen != generation) co_return false;
        up = true;
        metrics.up.set(1);
        metrics.connects.inc();
        log::info("shared cache connected", {{"redis", config.url}});
        reported_down = false;
        co_return true;
    }

    // Keeps one connection up: connects, waits until it drops, backs off, connects again.
    static net::awaitable<void> keep_connected(std::shared_ptr<State> self) {
        auto backoff = backoff_first;
        while (!self->stopped) {
            bool ok = co_await self->connect_once();
            if (self->stopped) break;
            if (ok) {
                const auto since = Clock::now();
                self->wake.expires_at(Clock::time_point::max());
                co_await self->wake.async_wait(use_tuple);  // cancelled by close()
                if (self->stopped) break;
                // A server that accepts and then fails at once (garbage, flapping) keeps backing off.
                if (Clock::now() - since > std::chrono::seconds(10)) backoff = backoff_first;
            } else {
                self->metrics.connect_failures.inc();
            }
            self->wake.expires_after(backoff);
            co_await self->wake.async_wait(use_tuple);
            backoff = std::min<std::chrono::milliseconds>(backoff * 2, backoff_max);
        }
    }
};

RedisClient::RedisClient(Strand strand, const SharedCacheConfig& config, std::optional<std::filesystem::path> ca_file,
                         RedisMetrics& metrics)
    : state_(std::make_shared<State>(strand, config, std::move(ca_file), metrics)), config_(config) {}

RedisClient::~RedisClient() {
    try {
        stop();
    } catch (...) {  // posting can only fail for want of memory; the connection then ends with the strand
    }
}

void RedisClient::start() { net::co_spawn(state_->strand, State::keep_connected(state_), net::detached); }

void RedisClient::stop() {
    net::post(state_->strand, [s = state_] {
        if (s->stopped) return;
        s->stopped = true;
        s->close(s->generation, "stopped");
        s->wake.cancel();
    });
}

bool RedisClient::connected() const { return state_->up; }

net::awaitable<RedisReply> RedisClient::command(std::vector<std::string> args, Clock::time_point deadline) {
    if (!state_->up) co_return failed("not connected");
    auto s = state_;  // keeps the state alive across the wait
    co_return co_await s->call(std::move(args), deadline);
}

bool RedisClient::send(const std::vector<std::string>& args) {
    if (!state_->up) return false;
    return state_->enqueue(args, std::make_shared<State::Op>());
}

}  // namespace ig
