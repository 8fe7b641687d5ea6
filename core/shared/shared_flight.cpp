#include "core/shared/shared_flight.hpp"

#include "core/shared/shared_value.hpp"
#include "core/text/text.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <optional>
#include <vector>

namespace ig {
namespace net = boost::asio;

namespace {

// Renew / delete the lock only while it is still ours (a lapsed lock may have a new holder).
constexpr const char* renew_script =
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0";
constexpr const char* release_script =
    "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0";

}  // namespace

std::chrono::milliseconds flight_lease(std::chrono::milliseconds lookup_timeout) {
    return std::clamp(lookup_timeout / 6, std::chrono::milliseconds(250), std::chrono::milliseconds(2000));
}

struct SharedFlight::State {
    std::shared_ptr<RedisClient> redis;
    std::string lock_key, error_key, verdict_key;
    std::string token;
    std::chrono::milliseconds lookup_timeout{};
    std::chrono::milliseconds lease{};
    std::function<bool(const std::string&)> accept;
    bool released = false;
    std::optional<net::steady_timer> heartbeat;

    // The lock taken (nullopt), or who holds it (its token; empty when Redis did not answer).
    struct Try {
        bool taken = false;
        bool failed = false;
        std::string holder;
    };

    net::awaitable<Try> try_lock(Clock::time_point deadline) {
        const auto px = std::to_string(lease.count());
        // SET NX GET (Redis 7): takes the lock or names its holder in one round trip.
        std::vector<std::string> set{"SET", lock_key, token, "NX", "PX", px, "GET"};
        auto r = co_await redis->command(std::move(set), deadline);
        if (r.type == RedisReply::Type::Nil) co_return Try{true, false, {}};
        if (r.type == RedisReply::Type::String) co_return Try{false, false, r.str};
        if (r.type != RedisReply::Type::Error) co_return Try{false, true, {}};
        // Older servers refuse NX with GET: two steps.
        std::vector<std::string> plain{"SET", lock_key, token, "NX", "PX", px};
        r = co_await redis->command(std::move(plain), deadline);
        if (r.ok_status()) co_return Try{true, false, {}};
        if (r.type != RedisReply::Type::Nil) co_return Try{false, true, {}};
        std::vector<std::string> get{"GET", lock_key};
        r = co_await redis->command(std::move(get), deadline);
        co_return Try{false, r.failed() || r.type == RedisReply::Type::Error, r.str};
    }

    static net::awaitable<void> beat(std::shared_ptr<State> self) {
        const auto every = self->lease / 3;
        while (!self->released) {
            self->heartbeat->expires_after(every);
            co_await self->heartbeat->async_wait(net::as_tuple(net::use_awaitable));
            if (self->released) break;
            std::vector<std::string> renew{"EVAL",         renew_script, "1",
                                           self->lock_key, self->token,  std::to_string(self->lease.count())};
            self->redis->send(renew);
        }
    }
};

SharedFlight::SharedFlight(std::shared_ptr<RedisClient> redis, std::string_view prefix, std::string device_id,
                           std::string token, std::chrono::milliseconds lookup_timeout,
                           std::function<bool(const std::string&)> accept)
    : state_(std::make_shared<State>()) {
    auto& s = *state_;
    s.redis = std::move(redis);
    s.lock_key = shared_lock_key(prefix, device_id);
    s.error_key = shared_error_key(prefix, device_id);
    s.verdict_key = shared_verdict_key(prefix, device_id);
    s.token = std::move(token);
    s.lookup_timeout = lookup_timeout;
    s.lease = flight_lease(lookup_timeout);
    s.accept = std::move(accept);
}

SharedFlight::~SharedFlight() {
    if (state_->released) return;
    state_->released = true;
    try {
        if (state_->heartbeat) state_->heartbeat->cancel();
    } catch (...) {  // the timer could not be cancelled: the heartbeat sees `released` and stops
    }
}

net::awaitable<FlightWait> SharedFlight::join(Clock::time_point deadline, bool* waited) {
    auto s = state_;
    const auto step = [&] { return std::min(Clock::now() + s->redis->config().timeout, deadline); };
    auto lead = [&]() -> net::awaitable<FlightWait> {
        // The holder before us may have written its answer and let go between the caller's read and
        // our lock: without this read, two instances ask Graph for one device.
        std::vector<std::string> get{"GET", s->verdict_key};
        auto v = co_await s->redis->command(std::move(get), step());
        if (v.type == RedisReply::Type::String && s->accept(v.str)) {
            release(nullptr);
            co_return FlightWait{FlightWait::Kind::Value, v.str};
        }
        auto ex = co_await net::this_coro::executor;
        s->heartbeat.emplace(ex);
        net::co_spawn(ex, State::beat(s), net::detached);
        co_return FlightWait{FlightWait::Kind::Lead, {}};
    };
    auto first = co_await s->try_lock(step());
    if (first.failed) co_return FlightWait{};
    if (first.taken) co_return co_await lead();
    if (waited) *waited = true;
    std::vector<std::string> holders{first.holder};
    // The holder's lookup ends by its own deadline, which is not later than ours: wait until then.
    const auto give_up = deadline;
    auto pause = std::chrono::milliseconds(5);
    while (Clock::now() + pause < give_up && s->redis->connected()) {
        net::steady_timer t(co_await net::this_coro::executor, pause);
        co_await t.async_wait(net::as_tuple(net::use_awaitable));
        pause = std::min(pause * 2, std::chrono::milliseconds(50));
        // One snapshot: the holder writes its answer before it lets go of the lock.
        std::vector<std::string> mget{"MGET", s->verdict_key, s->error_key, s->lock_key};
        auto r = co_await s->redis->command(std::move(mget), step());
        if (r.type != RedisReply::Type::Array || r.elements.size() != 3) break;
        const auto& value = r.elements[0];
        const auto& error = r.elements[1];
        const auto& lock = r.elements[2];
        if (value.type == RedisReply::Type::String && s->accept(value.str))
            co_return FlightWait{FlightWait::Kind::Value, value.str};
        if (error.type == RedisReply::Type::String) {
            const auto space = error.str.find(' ');
            const auto who = error.str.substr(0, space);
            if (space != std::string::npos && std::find(holders.begin(), holders.end(), who) != holders.end())
                co_return FlightWait{FlightWait::Kind::HolderError, one_line(error.str.substr(space + 1), 200)};
        }
        if (lock.type == RedisReply::Type::String) {
            if (std::find(holders.begin(), holders.end(), lock.str) == holders.end()) holders.push_back(lock.str);
            continue;
        }
        // The lock lapsed (its holder died or stalled) or went without an answer we can use: take over.
        auto again = co_await s->try_lock(step());
        if (again.failed) break;
        if (again.taken) co_return co_await lead();
        holders.push_back(again.holder);
    }
    co_return FlightWait{};
}

void SharedFlight::release(const std::string* error_reason) {
    auto& s = *state_;
    s.released = true;
    if (s.heartbeat) s.heartbeat->cancel();
    if (!s.redis->connected()) return;
    if (error_reason) {
        std::vector<std::string> error{"SET", s.error_key, s.token + " " + *error_reason, "PX",
                                       std::to_string(s.lookup_timeout.count())};
        s.redis->send(error);
    }
    std::vector<std::string> del{"EVAL", release_script, "1", s.lock_key, s.token};
    s.redis->send(del);
}

}  // namespace ig
