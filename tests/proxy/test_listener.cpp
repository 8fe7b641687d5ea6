// The listener skeleton's bookkeeping (proxy/listener.hpp): the counted wait a drain uses, the
// per-address counts, and which idle connection gives way.
#define BOOST_TEST_MODULE listener
#include "proxy/listener.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <thread>
#include <vector>

namespace {
using clock_type = std::chrono::steady_clock;
}

BOOST_AUTO_TEST_CASE(drain_wakes_when_the_last_connection_closes) {
    ig::ConnectionCount count;
    BOOST_TEST(count.wait_all_closed(clock_type::now()));
    count.opened();
    count.opened();
    BOOST_TEST(!count.wait_all_closed(clock_type::now() + std::chrono::milliseconds(20)));
    std::thread closer([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        count.closed();
        count.closed();
    });
    const auto start = clock_type::now();
    BOOST_TEST(count.wait_all_closed(start + std::chrono::seconds(10)));
    const bool woken = clock_type::now() - start < std::chrono::seconds(5);  // not timed out
    BOOST_TEST(woken);
    closer.join();
    BOOST_TEST(count.open() == 0u);
}

BOOST_AUTO_TEST_CASE(address_limit) {
    ig::AddressCount addresses;
    BOOST_TEST(addresses.try_add("192.0.2.1", 2));
    BOOST_TEST(addresses.try_add("192.0.2.1", 2));
    BOOST_TEST(!addresses.try_add("192.0.2.1", 2));
    BOOST_TEST(addresses.try_add("192.0.2.2", 2));
    addresses.remove("192.0.2.1");
    BOOST_TEST(addresses.try_add("192.0.2.1", 2));
    BOOST_TEST(!addresses.try_add("192.0.2.3", 0));
}

BOOST_AUTO_TEST_CASE(the_connection_idle_longest_gives_way) {
    boost::asio::io_context io;
    ig::IdleRegistry registry;
    std::vector<int> closed;
    ig::IdleRegistry::Member a(registry, io.get_executor(), [&] { closed.push_back(1); });
    ig::IdleRegistry::Member b(registry, io.get_executor(), [&] { closed.push_back(2); });
    ig::IdleRegistry::Member c(registry, io.get_executor(), [&] { closed.push_back(3); });
    BOOST_TEST(!registry.evict_oldest_idle());  // none waits for a request
    b.idle(true);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    a.idle(true);
    c.idle(true);
    c.idle(false);  // busy again
    BOOST_TEST(registry.evict_oldest_idle());
    io.run();
    io.restart();
    BOOST_TEST(closed == std::vector<int>{2});
    BOOST_TEST(registry.evict_oldest_idle());  // b was picked once; a is next
    a.idle(false);  // a request arrived before the close ran: a is left alone
    io.run();
    io.restart();
    BOOST_TEST(closed == std::vector<int>{2});
    BOOST_TEST(!registry.evict_oldest_idle());
}

BOOST_AUTO_TEST_CASE(drain_closes_the_idle_ones_and_skips_the_gone) {
    boost::asio::io_context io;
    ig::IdleRegistry registry;
    std::vector<int> closed;
    ig::IdleRegistry::Member a(registry, io.get_executor(), [&] { closed.push_back(1); });
    ig::IdleRegistry::Member b(registry, io.get_executor(), [&] { closed.push_back(2); });
    a.idle(true);
    {
        ig::IdleRegistry::Member gone(registry, io.get_executor(), [&] { closed.push_back(3); });
        gone.idle(true);
        registry.close_idle();
    }
    io.run();
    BOOST_TEST(closed == std::vector<int>{1});
}
