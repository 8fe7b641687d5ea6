// The single flight across instances against a real redis-server: who leads, who takes the
// holder's answer, and the race where the holder answered between our read and our lock.
#define BOOST_TEST_MODULE shared_flight
#include <boost/test/unit_test.hpp>

#include "core/shared/shared_flight.hpp"
#include "core/shared/shared_value.hpp"
#include "tests/support/redis_harness.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>

#include <chrono>
#include <string>

using namespace ig;
using namespace ig::test;
using namespace std::chrono_literals;
namespace net = boost::asio;

namespace {

constexpr std::string_view prefix = "t:";
const std::string device = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";

struct Fixture {
    RedisServer server;
    Client c{server.port};
    Fixture() { BOOST_TEST_REQUIRE(c.wait_connected()); }

    // join() for one more instance; the shared value counts when it is "good".
    FlightWait join(const std::string& token, std::chrono::milliseconds within = 2000ms) {
        auto flight = std::make_shared<SharedFlight>(c.client, prefix, device, token, 3000ms,
                                                     [](const std::string& v) { return v == "good"; });
        auto run = [flight, within]() -> net::awaitable<FlightWait> {
            co_return co_await flight->join(Clock::now() + within, nullptr);
        };
        auto f = net::co_spawn(c.strand, run(), net::use_future);
        BOOST_TEST_REQUIRE((f.wait_for(30s) == std::future_status::ready));
        auto wait = f.get();
        if (wait.kind == FlightWait::Kind::Lead) flight->release(nullptr);
        return wait;
    }
};

}  // namespace

BOOST_FIXTURE_TEST_CASE(the_first_instance_leads_and_lets_go, Fixture) {
    BOOST_TEST((join("a").kind == FlightWait::Kind::Lead));
    BOOST_TEST((c.run({"GET", shared_lock_key(prefix, device)}).type == RedisReply::Type::Nil));
    BOOST_TEST((join("b").kind == FlightWait::Kind::Lead));
}

// The holder wrote its answer and let go after the caller's read of the value missed it: the lock
// is free, but the answer is there, so nobody asks Graph again.
BOOST_FIXTURE_TEST_CASE(an_answer_written_before_the_lock_is_taken_is_used, Fixture) {
    BOOST_TEST(c.run({"SET", shared_verdict_key(prefix, device), "good"}).ok_status());
    const auto wait = join("late");
    BOOST_TEST((wait.kind == FlightWait::Kind::Value));
    BOOST_TEST(wait.text == "good");
    BOOST_TEST((c.run({"GET", shared_lock_key(prefix, device)}).type == RedisReply::Type::Nil));  // let go at once
}

BOOST_FIXTURE_TEST_CASE(a_value_that_is_not_accepted_still_leads, Fixture) {
    BOOST_TEST(c.run({"SET", shared_verdict_key(prefix, device), "forged"}).ok_status());
    BOOST_TEST((join("a").kind == FlightWait::Kind::Lead));
}

BOOST_FIXTURE_TEST_CASE(a_waiter_takes_the_holders_answer, Fixture) {
    BOOST_TEST(c.run({"SET", shared_lock_key(prefix, device), "holder", "PX", "5000"}).ok_status());
    std::thread writer([this] {
        std::this_thread::sleep_for(200ms);
        c.run({"SET", shared_verdict_key(prefix, device), "good"});
        c.run({"DEL", shared_lock_key(prefix, device)});
    });
    const auto wait = join("waiter");
    writer.join();
    BOOST_TEST((wait.kind == FlightWait::Kind::Value));
}
