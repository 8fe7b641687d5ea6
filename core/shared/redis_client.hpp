#pragma once
// One pipelined connection to Redis, driven on the compliance core's strand: commands are encoded by
// hiredis' formatter (redisFormatCommandArgv) and replies decoded by its RESP reader
// (redisReader*), over an Asio TCP stream or an Asio TLS stream (rediss://, verified, SNI set).
// Nothing here blocks: a command waits at most until its deadline; while the server is down,
// slow, full or talks garbage, commands fail at once and the connection is re-made in the
// background with backoff. Not thread-safe: call only from the strand given at construction.
#include "core/config/config.hpp"
#include "core/graph/http_client.hpp"
#include "core/shared/resp_reader.hpp"
#include "core/verdict/metrics.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/strand.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ig {

class RedisClient : public std::enable_shared_from_this<RedisClient> {
public:
    using Strand = boost::asio::strand<boost::asio::any_io_executor>;

    // ca_file: extra trust for rediss:// (the intune.ca_file); the system store otherwise.
    RedisClient(Strand strand, const SharedCacheConfig& config, std::optional<std::filesystem::path> ca_file,
                RedisMetrics& metrics);
    ~RedisClient();

    // Starts connecting (and keeps reconnecting) in the background.
    void start();
    // Closes the connection and stops reconnecting; commands in flight fail.
    void stop();

    bool connected() const;

    // Sends one command; the reply, or Failed when none came by the deadline (or Redis is down).
    boost::asio::awaitable<RedisReply> command(std::vector<std::string> args, Clock::time_point deadline);

    // Sends one command without waiting for its reply (it is read and dropped): for bulk writes.
    // Returns false when it could not be queued (down or too much in flight).
    bool send(const std::vector<std::string>& args);

    const SharedCacheConfig& config() const { return config_; }

private:
    struct State;
    std::shared_ptr<State> state_;
    SharedCacheConfig config_;
};

}  // namespace ig
