#define BOOST_TEST_MODULE log_queue
#include <boost/test/unit_test.hpp>

#include "core/text/log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <string>
#include <thread>
#include <vector>

// stdout blocked (a pipe nobody reads): logging must not block the caller; lines beyond the queue
// are dropped and counted; once stdout moves again, every line is either written or counted.
BOOST_AUTO_TEST_CASE(full_queue_drops_and_counts_without_blocking) {
    using namespace std::chrono_literals;
    constexpr std::uint64_t total = 90000;  // more than the queue (65536) plus what a pipe buffers

    std::fflush(stdout);
    int fds[2];
    BOOST_REQUIRE(::pipe(fds) == 0);
    const int saved = ::dup(1);
    BOOST_REQUIRE(saved >= 0);
    BOOST_REQUIRE(::dup2(fds[1], 1) == 1);  // from here until restored, Boost.Test must not print

    const std::uint64_t dropped_before = ig::log::dropped();
    auto producer = std::async(std::launch::async, [] {
        for (std::uint64_t i = 0; i < total; ++i) ig::log::info("queue test", {{"i", i}});
    });
    const bool returned = producer.wait_for(120s) == std::future_status::ready;
    const std::uint64_t dropped = ig::log::dropped() - dropped_before;

    // Unblock stdout: read everything until the writer has flushed the queue.
    std::uint64_t lines = 0;
    std::string partial;
    auto reader = std::async(std::launch::async, [&] {
        char buf[65536];
        for (;;) {
            const ssize_t n = ::read(fds[0], buf, sizeof buf);
            if (n <= 0) return;
            for (ssize_t i = 0; i < n; ++i)
                if (buf[i] == '\n') ++lines;
        }
    });
    if (returned) ig::log::flush();
    std::fflush(stdout);
    ::dup2(saved, 1);
    ::close(saved);
    ::close(fds[1]);
    const bool drained = reader.wait_for(120s) == std::future_status::ready;
    ::close(fds[0]);

    BOOST_TEST(returned);  // logging into a blocked stdout did not block the caller
    BOOST_TEST(drained);
    BOOST_TEST(dropped > 0u);
    BOOST_TEST(dropped < total);
    BOOST_TEST(lines + dropped == total);  // nothing lost without being counted
    if (!returned) std::_Exit(1);  // the producer is stuck: do not hang in its destructor
}

// Every thread queues into its own buffer: lines from several threads, some of which have ended
// before the writer took their lines, all come out once, each thread's in the order it logged them.
BOOST_AUTO_TEST_CASE(lines_of_every_thread_come_out_in_order_also_after_it_ended) {
    constexpr int threads = 4;
    constexpr int per_thread = 2000;
    std::fflush(stdout);
    char path[] = "/tmp/ig-log-threads-XXXXXX";
    const int fd = ::mkstemp(path);
    BOOST_REQUIRE(fd >= 0);
    const int saved = ::dup(1);
    BOOST_REQUIRE(saved >= 0);
    ig::log::flush();
    BOOST_REQUIRE(::dup2(fd, 1) == 1);

    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t)
        workers.emplace_back([t] {
            for (int i = 0; i < per_thread; ++i) ig::log::write_rendered(std::to_string(t) + " " + std::to_string(i));
        });
    for (auto& w : workers) w.join();  // ended: their buffers may still hold lines
    ig::log::flush();
    std::fflush(stdout);
    ::dup2(saved, 1);
    ::close(saved);

    std::vector<int> next(threads, 0);
    int lines = 0;
    bool in_order = true;
    if (std::FILE* in = ::fdopen(fd, "r")) {
        std::rewind(in);
        int t = 0;
        int i = 0;
        while (std::fscanf(in, "%d %d", &t, &i) == 2) {
            ++lines;
            if (t < 0 || t >= threads || next[t] != i) in_order = false;
            if (t >= 0 && t < threads) next[t] = i + 1;
        }
        std::fclose(in);
    }
    ::unlink(path);
    BOOST_TEST(lines == threads * per_thread);
    BOOST_TEST(in_order);
}
