#define BOOST_TEST_MODULE log_queue
#include <boost/test/unit_test.hpp>

#include "core/log.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <future>
#include <string>
#include <thread>

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
