#pragma once
// The single flight across instances (docs/shared-state.md, "One Graph call per device"): one
// instance holds a short Redis lock for a device while it asks Graph and keeps it alive while it
// works; the others wait for its answer (the verdict, or its Error) for as long as the lookup can
// still be answered in time, and take the lock over only when the holder is gone (the lock lapsed:
// the holder died or stalled).
#include "core/shared/redis_client.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace ig {

struct FlightWait {
    enum class Kind {
        Lead,  // we hold the lock: ask Graph, then release()
        Value,  // the holder's verdict: `text` is the shared value
        HolderError,  // the holder's lookup ended in Error: `text` is its reason
        Ended,  // the wait ended without an answer (deadline, Redis failed): look up without the lock
    };
    Kind kind = Kind::Ended;
    std::string text;
};

// How long a lock lives without a heartbeat: a dead holder is noticed within this (README:
// `shared_cache`). A fraction of the lookup time, so that a waiter that takes over still has
// time for its own Graph call.
std::chrono::milliseconds flight_lease(std::chrono::milliseconds lookup_timeout);

class SharedFlight {
public:
    // `accept` says whether a shared value read while waiting is usable (decodes for this device).
    SharedFlight(std::shared_ptr<RedisClient> redis, std::string_view prefix, std::string device_id, std::string token,
                 std::chrono::milliseconds lookup_timeout, std::function<bool(const std::string&)> accept);
    // Stops the heartbeat if release() was not called (the lookup threw): the lock then lapses.
    ~SharedFlight();
    SharedFlight(const SharedFlight&) = delete;
    SharedFlight& operator=(const SharedFlight&) = delete;

    // Takes the lock or waits for the holder, at most until `deadline`. `waited` is set when
    // another instance held the lock.
    boost::asio::awaitable<FlightWait> join(Clock::time_point deadline, bool* waited);

    // Lets go of the lock (only our own); with `error_reason` the waiters take that Error.
    // Queued on the connection after whatever the caller wrote before (the verdict), so waiters
    // see the answer before the lock goes.
    void release(const std::string* error_reason);

private:
    struct State;
    std::shared_ptr<State> state_;
};

}  // namespace ig
