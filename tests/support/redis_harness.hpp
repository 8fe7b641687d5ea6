#pragma once
// A real redis-server for unit tests (started on a free port, no persistence, stopped with the
// object) and a RedisClient on its own thread to talk to it.
#include "core/shared/redis_client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <future>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

namespace ig::test {

inline std::uint16_t free_port() {
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor a(io, boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
    return a.local_endpoint().port();
}

// redis-server --port P --save '' --appendonly no, stopped (SIGTERM) with the object.
struct RedisServer {
    std::uint16_t port = free_port();
    pid_t pid = -1;
    std::vector<std::string> extra;
    RedisServer() { start(); }
    explicit RedisServer(std::vector<std::string> args) : extra(std::move(args)) { start(); }
    void start() {
        pid = ::fork();
        if (pid == 0) {
            std::vector<std::string> args{
                "redis-server", "--port", std::to_string(port), "--bind", "127.0.0.1",  "--save", "",
                "--appendonly", "no",     "--daemonize",        "no",     "--loglevel", "warning"};
            // With TLS the port given is the TLS one and plain TCP is off.
            if (!extra.empty() && extra.front() == "--tls-port") args[2] = "0";
            args.insert(args.end(), extra.begin(), extra.end());
            for (auto& a : args)
                if (a == "PORT") a = std::to_string(port);
            std::vector<char*> argv;
            for (auto& a : args) argv.push_back(a.data());
            argv.push_back(nullptr);
            ::execvp("redis-server", argv.data());
            std::_Exit(127);
        }
        // Ready when it accepts connections.
        for (int i = 0; i < 200; ++i) {
            boost::asio::io_context io;
            boost::asio::ip::tcp::socket s(io);
            boost::system::error_code ec;
            s.connect(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port), ec);
            if (!ec) return;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
        BOOST_FAIL("redis-server did not start");
    }
    void stop() {
        if (pid > 0) {
            ::kill(pid, SIGTERM);
            ::waitpid(pid, nullptr, 0);
            pid = -1;
        }
    }
    ~RedisServer() { stop(); }
};

struct Client {
    boost::asio::io_context io;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{io.get_executor()};
    boost::asio::strand<boost::asio::any_io_executor> strand{
        boost::asio::make_strand(boost::asio::any_io_executor(io.get_executor()))};
    SharedCacheConfig config;
    RedisMetrics metrics;
    std::shared_ptr<RedisClient> client;
    std::thread thread{[this] { io.run(); }};

    explicit Client(std::uint16_t port, std::string password = {}, bool tls = false,
                    std::optional<std::filesystem::path> ca = std::nullopt) {
        config.enabled = true;
        config.host = "127.0.0.1";
        config.port = port;
        config.url = "redis://127.0.0.1:" + std::to_string(port);
        config.password.value = std::move(password);
        config.tls = tls;
        client = std::make_shared<RedisClient>(strand, config, std::move(ca), metrics);
        client->start();
    }
    ~Client() {
        client->stop();
        client.reset();
        work.reset();
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        io.stop();
        thread.join();
    }
    bool wait_connected(bool want = true, std::chrono::seconds limit = std::chrono::seconds(20)) {
        const auto end = std::chrono::steady_clock::now() + limit;
        while (std::chrono::steady_clock::now() < end) {
            if (client->connected() == want) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return false;
    }
    RedisReply run(std::vector<std::string> args,
                   std::chrono::milliseconds deadline = std::chrono::milliseconds(1000)) {
        auto f = boost::asio::co_spawn(strand, client->command(std::move(args), Clock::now() + deadline),
                                       boost::asio::use_future);
        BOOST_REQUIRE(f.wait_for(std::chrono::seconds(30)) == std::future_status::ready);
        return f.get();
    }
};

}  // namespace ig::test
