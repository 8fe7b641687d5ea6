#include "core/log.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <deque>
#include <mutex>
#include <thread>

namespace ig::log {
namespace {

std::atomic<std::FILE*> output_stream{stdout};
std::FILE* output() { return output_stream.load(); }

constexpr std::size_t max_queued = 65536;
constexpr std::chrono::milliseconds linger{5};

class Writer {
public:
    Writer() : thread_([this] { run(); }) {}
    ~Writer() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        wake_.notify_one();
        thread_.join();
    }

    void push(std::string line) {
        bool wake = false;
        {
            std::lock_guard lock(mutex_);
            if (queue_.size() >= max_queued) {
                dropped_.fetch_add(1, std::memory_order_relaxed);
                return;
            }
            queue_.push_back(std::move(line));
            // Only a writer asleep with nothing to do needs a wake-up; one that is writing or
            // lingering picks the line up in its next batch. This keeps a busy gateway at one
            // write(2) per batch instead of a futex wake and a write per request.
            wake = idle_;
            idle_ = false;
        }
        if (wake) wake_.notify_one();
    }

    void flush() {
        std::unique_lock lock(mutex_);
        ++flushing_;
        wake_.notify_one();
        flushed_.wait(lock, [this] { return queue_.empty() && !writing_; });
        --flushing_;
    }

    std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

private:
    void run() {
        std::deque<std::string> batch;
        for (;;) {
            {
                std::unique_lock lock(mutex_);
                if (queue_.empty() && !stopping_) {
                    idle_ = true;
                    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
                }
                if (queue_.empty() && stopping_) return;
                batch.swap(queue_);
                writing_ = true;
            }
            for (auto& line : batch) {
                line.push_back('\n');
                std::fwrite(line.data(), 1, line.size(), output());
            }
            std::fflush(output());
            batch.clear();
            {
                std::lock_guard lock(mutex_);
                writing_ = false;
            }
            flushed_.notify_all();
            // Linger so lines that arrive meanwhile go out together, without waking us one by one.
            std::unique_lock lock(mutex_);
            wake_.wait_for(lock, linger, [this] { return stopping_ || flushing_ > 0; });
        }
    }

    std::mutex mutex_;
    std::condition_variable wake_;
    std::condition_variable flushed_;
    std::deque<std::string> queue_;
    bool stopping_ = false;
    bool writing_ = false;
    bool idle_ = false;
    int flushing_ = 0;
    std::atomic<std::uint64_t> dropped_{0};
    std::thread thread_;
};

Writer& writer() {
    static Writer w;
    return w;
}

}  // namespace

std::string now_iso8601() {
    using namespace std::chrono;
    const auto now = system_clock::now();
    const auto t = system_clock::to_time_t(now);
    const auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[80];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                  tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
    return buf;
}

void write(nlohmann::json line) {
    if (!line.contains("time")) line["time"] = now_iso8601();
    // replace: invalid UTF-8 from a hostile source must not throw here.
    writer().push(line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void write_rendered(std::string line) { writer().push(std::move(line)); }

void event(std::string_view level, std::string_view msg, nlohmann::json fields) {
    nlohmann::json line = nlohmann::json::object();
    line["time"] = now_iso8601();
    line["level"] = level;
    line["msg"] = msg;
    if (fields.is_object()) line.update(fields);
    write(std::move(line));
}

std::uint64_t dropped() { return writer().dropped(); }
void flush() { writer().flush(); }
void to_stderr() { output_stream = stderr; }

}  // namespace ig::log
