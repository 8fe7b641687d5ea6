// The Redis client against a real redis-server (started here on a free port, no persistence) and
// against servers that misbehave: one that talks garbage and one that never answers. A command
// never waits past its deadline and never throws; the connection comes back by itself.
#define BOOST_TEST_MODULE redis_client
#include <boost/test/unit_test.hpp>

#include "core/shared/redis_client.hpp"
#include "tests/support/core_env.hpp"
#include "tests/support/redis_harness.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/asio/write.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <future>
#include <string>
#include <thread>

#include <sys/wait.h>
#include <unistd.h>

using namespace ig;
using namespace ig::test;
using namespace std::chrono_literals;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

// A server that answers every read with bytes that are not RESP, or never answers.
struct FakeServer {
    net::io_context io;
    tcp::acceptor acceptor{io, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0)};
    std::vector<std::shared_ptr<tcp::socket>> sockets;
    bool garbage;
    // What it answers every read with: not RESP by default.
    std::shared_ptr<const std::string> answer = std::make_shared<const std::string>("HTTP/1.1 400 Bad Request\r\n\r\n");
    std::atomic<int> closed_by_client{0};
    std::thread thread;
    explicit FakeServer(bool g, std::string a = {}) : garbage(g) {
        if (!a.empty()) answer = std::make_shared<const std::string>(std::move(a));
        accept();
        thread = std::thread([this] { io.run(); });
    }
    void accept() {
        acceptor.async_accept([this](boost::system::error_code ec, tcp::socket s) {
            if (ec) return;
            auto sock = std::make_shared<tcp::socket>(std::move(s));
            sockets.push_back(sock);
            if (garbage) read(sock);
            accept();
        });
    }
    void read(std::shared_ptr<tcp::socket> s) {
        auto buf = std::make_shared<std::array<char, 512>>();
        s->async_read_some(net::buffer(*buf), [this, s, buf](boost::system::error_code ec, std::size_t) {
            if (ec) {
                if (ec == net::error::eof || ec == net::error::connection_reset) ++closed_by_client;
                return;
            }
            net::async_write(*s, net::buffer(*answer), [keep = answer](boost::system::error_code, std::size_t) {});
            read(s);
        });
    }
    std::uint16_t port() const { return acceptor.local_endpoint().port(); }
    ~FakeServer() {
        io.stop();
        thread.join();
    }
};

}  // namespace

BOOST_AUTO_TEST_CASE(commands_round_trip_through_a_real_redis) {
    RedisServer server;
    Client c(server.port);
    BOOST_TEST_REQUIRE(c.wait_connected());
    BOOST_TEST(c.run({"SET", "k", std::string("v\r\n\0x", 5), "PX", "60000"}).ok_status());
    auto got = c.run({"GET", "k"});
    BOOST_TEST((got.type == RedisReply::Type::String));
    BOOST_TEST(got.str == std::string("v\r\n\0x", 5));  // binary-safe both ways
    BOOST_TEST((c.run({"GET", "missing"}).type == RedisReply::Type::Nil));
    BOOST_TEST((c.run({"SET", "lock", "a", "NX", "PX", "60000"}).ok_status()));
    BOOST_TEST((c.run({"SET", "lock", "b", "NX", "PX", "60000"}).type == RedisReply::Type::Nil));
    BOOST_TEST((c.run({"DEL", "lock"}).integer == 1));
    BOOST_TEST((c.run({"NOSUCHCOMMAND"}).type == RedisReply::Type::Error));
    // Pipelined: many in flight at once, each gets its own reply.
    for (int i = 0; i < 200; ++i) BOOST_TEST(c.client->send({"SET", "p" + std::to_string(i), std::to_string(i)}));
    BOOST_TEST(c.run({"GET", "p199"}).str == "199");
    BOOST_TEST(c.metrics.up.get() == 1);
}

BOOST_AUTO_TEST_CASE(down_fails_at_once_and_comes_back) {
    auto server = std::make_unique<RedisServer>();
    const auto port = server->port;
    Client c(port);
    BOOST_TEST_REQUIRE(c.wait_connected());
    server->stop();
    BOOST_TEST_REQUIRE(c.wait_connected(false));
    const auto start = std::chrono::steady_clock::now();
    auto r = c.run({"GET", "k"}, 5000ms);
    BOOST_TEST(r.failed());
    BOOST_TEST((std::chrono::steady_clock::now() - start < 1s));  // not the 5 s deadline
    BOOST_TEST(c.metrics.up.get() == 0);
    server->port = port;
    server->start();
    BOOST_TEST_REQUIRE(c.wait_connected());
    BOOST_TEST(c.run({"SET", "k", "v"}).ok_status());
    BOOST_TEST(c.metrics.connects.get() == 2u);
}

BOOST_AUTO_TEST_CASE(a_connection_lost_during_a_write_is_replaced_by_a_working_one) {
    // The old connection's write loop was still in its write when the server died: the next
    // connection must write its commands all the same (it used to queue them forever, so the
    // shared cache timed out on every command after such an outage).
    auto server = std::make_unique<RedisServer>();
    const auto port = server->port;
    Client c(port);
    BOOST_TEST_REQUIRE(c.wait_connected());
    BOOST_TEST(c.client->send({"SET", "big", std::string(64 << 20, 'x')}));
    ::kill(server->pid, SIGKILL);
    ::waitpid(server->pid, nullptr, 0);
    server->pid = -1;
    BOOST_TEST_REQUIRE(c.wait_connected(false));
    server->port = port;
    server->start();
    BOOST_TEST_REQUIRE(c.wait_connected());
    BOOST_TEST(c.run({"SET", "k", "v"}, 5000ms).ok_status());
    BOOST_TEST(c.run({"GET", "k"}, 5000ms).str == "v");
}

BOOST_AUTO_TEST_CASE(password_is_sent_and_a_wrong_one_keeps_it_down) {
    RedisServer server({"--requirepass", "s3cret-pw"});
    Client good(server.port, "s3cret-pw");
    BOOST_TEST_REQUIRE(good.wait_connected());
    BOOST_TEST(good.run({"SET", "k", "v"}).ok_status());
    Client bad(server.port, "wrong");
    std::this_thread::sleep_for(500ms);
    BOOST_TEST(!bad.client->connected());
    BOOST_TEST(bad.run({"GET", "k"}).failed());
    BOOST_TEST(bad.metrics.connect_failures.get() >= 1u);
}

BOOST_AUTO_TEST_CASE(garbage_is_refused_without_a_crash) {
    FakeServer fake(true);
    Client c(fake.port());
    // It connects (TCP), then the first reply is not RESP: the connection is dropped.
    std::this_thread::sleep_for(300ms);
    for (int i = 0; i < 3; ++i) {
        auto r = c.run({"GET", "k"}, 500ms);
        BOOST_TEST(r.failed());
    }
    BOOST_TEST(c.metrics.commands.get() == 0u);
}

BOOST_AUTO_TEST_CASE(a_silent_server_costs_one_deadline_per_command) {
    FakeServer fake(false);
    Client c(fake.port());
    BOOST_TEST_REQUIRE(c.wait_connected());
    const auto start = std::chrono::steady_clock::now();
    auto r = c.run({"GET", "k"}, 50ms);
    const auto took = std::chrono::steady_clock::now() - start;
    BOOST_TEST(r.failed());
    BOOST_TEST(r.str == "timed out");
    BOOST_TEST((took >= 50ms));
    BOOST_TEST((took < 5s));  // generous on a loaded machine; the deadline is what stops it
}

BOOST_AUTO_TEST_CASE(rediss_is_verified_tls) {
    const auto pki = ig::test::core::pki_dir();
    RedisServer server({"--tls-port", "PORT", "--tls-cert-file", (pki / "server.crt").string(), "--tls-key-file",
                        (pki / "server.key").string(), "--tls-ca-cert-file", (pki / "server-ca.crt").string(),
                        "--tls-auth-clients", "no"});
    // Trusted through the extra CA (intune.ca_file): works, host name (IP SAN) checked.
    Client trusted(server.port, {}, true, pki / "server-ca.crt");
    BOOST_TEST_REQUIRE(trusted.wait_connected());
    BOOST_TEST(trusted.run({"SET", "k", "over tls"}).ok_status());
    BOOST_TEST(trusted.run({"GET", "k"}).str == "over tls");
    // The system store alone does not know the test CA: never connected, commands fail at once.
    Client untrusted(server.port, {}, true);
    std::this_thread::sleep_for(500ms);
    BOOST_TEST(!untrusted.client->connected());
    BOOST_TEST(untrusted.run({"GET", "k"}).failed());
    BOOST_TEST(untrusted.metrics.connect_failures.get() >= 1u);
}

// Issue 26 #7: a hostile Redis answering with a 40 MB array of ten million values, or a 40 MB bulk
// string: the command fails, the connection is dropped as soon as the reply passes its bound (1 MiB,
// 1,024 values), and the process never holds the reply.
BOOST_AUTO_TEST_CASE(an_oversized_reply_drops_the_connection) {
    std::string array = "*10000000\r\n";
    array.reserve(40'000'100);
    for (int i = 0; i < 10'000'000; ++i) array += ":1\r\n";
    std::string bulk = "$40000000\r\n" + std::string(40'000'000, 'a') + "\r\n";
    for (auto* reply : {&array, &bulk}) {
        FakeServer fake(true, std::move(*reply));
        Client c(fake.port());
        BOOST_TEST_REQUIRE(c.wait_connected());
        auto r = c.run({"GET", "k"}, 5000ms);
        BOOST_TEST(r.failed());
        BOOST_TEST_MESSAGE("reason: " << r.str);
        BOOST_TEST((r.str.find("values") != std::string::npos || r.str.find("bytes") != std::string::npos), r.str);
        for (int i = 0; i < 100 && fake.closed_by_client == 0; ++i) std::this_thread::sleep_for(20ms);
        BOOST_TEST(fake.closed_by_client.load() >= 1);
    }
}
