#pragma once
// The one logger: JSON lines on stdout, written by a background thread so no event-loop thread
// ever blocks on stdout. Each thread queues its lines in its own buffer, which the writer takes
// every few milliseconds: logging neither waits for another thread nor wakes one (but the first
// line after a quiet spell). Callers must not put secrets or tokens in any field.
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace ig::log {

// Queues one JSON object as a line; "time" is added when absent. Never blocks on I/O: when the
// queue is full the line is dropped and counted.
void write(nlohmann::json line);

// Queues a line already rendered as one JSON object (no newline in it), as write() does.
void write_rendered(std::string_view line);

// {"time","level","msg", ...fields}
void event(std::string_view level, std::string_view msg, nlohmann::json fields = nlohmann::json::object());
inline void info(std::string_view msg, nlohmann::json fields = nlohmann::json::object()) {
    event("info", msg, std::move(fields));
}
inline void warn(std::string_view msg, nlohmann::json fields = nlohmann::json::object()) {
    event("warn", msg, std::move(fields));
}
inline void error(std::string_view msg, nlohmann::json fields = nlohmann::json::object()) {
    event("error", msg, std::move(fields));
}

// Allows a log line at most once a minute for a condition that repeats (e.g. Redis timeouts).
class Throttle {
public:
    bool allow(std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now()) {
        if (now < next_) return false;
        next_ = now + std::chrono::seconds(60);
        return true;
    }

private:
    std::chrono::steady_clock::time_point next_{};
};

// Lines dropped because the queue was full.
std::uint64_t dropped();

// Writes out everything queued so far (at shutdown, and in tests).
void flush();

// Sends the lines to stderr instead (for a command whose stdout is its report, such as --explain).
void to_stderr();

// ISO 8601 UTC with milliseconds, e.g. 2026-11-26T10:12:15.123Z
std::string now_iso8601();
// The same, appended to out.
void append_now_iso8601(std::string& out);

}  // namespace ig::log
