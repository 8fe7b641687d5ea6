#pragma once
// The RESP reader of the Redis connection: hiredis' reader (redisReader*) with bounds on what
// one reply may cost. Redis is outside input (anyone on the path of plaintext redis://, or with
// access to Redis, can answer anything): a reply over max_reply_bytes or with more than
// max_elements values in all is refused before it is held in memory, and the connection is
// dropped (docs/hostile-clients.md, "Redis"). The gateway's own replies are a string (a value
// under 1 MiB), a status or an integer.
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ig {

// A decoded reply (what is needed here: strings, nil, integers, status, errors, arrays).
struct RedisReply {
    enum class Type { Failed, Nil, String, Status, Integer, Error, Array };
    Type type = Type::Failed;  // Failed: no reply (down, timeout, garbage); `str` says why
    std::string str;  // String, Status, Error; Failed: the reason
    long long integer = 0;
    std::vector<RedisReply> elements;

    bool failed() const { return type == Type::Failed; }
    bool ok_status() const { return type == Type::Status && str == "OK"; }
};

struct RespLimits {
    std::size_t max_reply_bytes = std::size_t(1) << 20;  // one reply's bytes on the wire
    std::size_t max_elements = 1024;  // values in one reply, nested arrays' included
};

class RespReader {
public:
    explicit RespReader(RespLimits limits = {});
    ~RespReader();
    RespReader(const RespReader&) = delete;
    RespReader& operator=(const RespReader&) = delete;

    // Adds bytes read from the connection. False when the reply being read is over a bound:
    // the connection must be dropped (error() says why).
    bool feed(const char* data, std::size_t n);

    // The next complete reply, or nullopt: more bytes are needed, or (error() not empty) the
    // bytes are not RESP or a reply is over a bound, and the connection must be dropped.
    std::optional<RedisReply> next();

    const std::string& error() const { return error_; }

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
    std::string error_;
};

}  // namespace ig
