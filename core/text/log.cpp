#include "core/text/log.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace ig::log {
namespace {

std::atomic<std::FILE*> output_stream{stdout};
std::FILE* output() { return output_stream.load(); }

constexpr std::size_t max_queued = 65536;  // lines waiting per thread; more are dropped and counted
constexpr std::chrono::milliseconds linger{5};

// The lines one thread has logged and the writer has not taken yet, newline-terminated. Only that
// thread appends; the writer takes the whole text at once. The lock is the thread's own, so
// threads that log never wait for each other.
struct Batch {
    std::mutex mutex;
    std::string text;
    std::size_t lines = 0;
};

// Each thread appends its lines to its own batch; the background thread takes every batch's text
// in rounds and writes it out. While it is busy or lingering between rounds nobody wakes it: a
// loaded gateway logs a request with a copy into its own buffer (no shared lock, no futex, no
// allocation) and the writer makes one write(2) per thread and round. Only a writer asleep with
// nothing to do is woken, by the first line that comes.
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

    void push(std::string_view line) {
        Batch& b = this_thread_batch();
        {
            std::lock_guard lock(b.mutex);
            if (b.lines >= max_queued) {
                dropped_.fetch_add(1, std::memory_order_relaxed);
                return;
            }
            b.text.append(line);
            b.text.push_back('\n');
            ++b.lines;
        }
        if (asleep_.load() && asleep_.exchange(false)) {
            {
                std::lock_guard lock(mutex_);
                woken_ = true;
            }
            wake_.notify_one();
        }
    }

    void flush() {
        std::unique_lock lock(mutex_);
        // The next round to start takes everything logged before this call.
        const std::uint64_t wanted = rounds_started_ + 1;
        ++flushing_;
        wake_.notify_one();
        flushed_.wait(lock, [&] { return rounds_done_ >= wanted; });
        --flushing_;
    }

    std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

private:
    Batch& this_thread_batch() {
        thread_local std::shared_ptr<Batch> mine;
        if (!mine) {
            mine = std::make_shared<Batch>();
            std::lock_guard lock(mutex_);
            batches_.push_back(mine);
        }
        return *mine;
    }

    bool anything_logged() {
        std::vector<std::shared_ptr<Batch>> all;
        {
            std::lock_guard lock(mutex_);
            all = batches_;
        }
        for (const auto& b : all) {
            std::lock_guard lock(b->mutex);
            if (b->lines) return true;
        }
        return false;
    }

    // Takes and writes every batch's text; drops the batches of threads that have ended. True when
    // anything was written.
    bool write_round(std::string& spare) {
        std::vector<std::shared_ptr<Batch>> all;
        {
            std::lock_guard lock(mutex_);
            all = batches_;
        }
        bool wrote = false;
        for (const auto& b : all) {
            {
                std::lock_guard lock(b->mutex);
                b->text.swap(spare);
                b->lines = 0;
            }
            if (!spare.empty()) {
                std::fwrite(spare.data(), 1, spare.size(), output());
                wrote = true;
            }
            spare.clear();
        }
        if (wrote) std::fflush(output());
        // A batch only the writer still holds belongs to a thread that has ended; it goes once empty.
        std::lock_guard lock(mutex_);
        std::erase_if(batches_, [](const std::shared_ptr<Batch>& b) {
            if (b.use_count() != 1) return false;
            std::lock_guard batch_lock(b->mutex);
            return b->lines == 0;
        });
        return wrote;
    }

    // Sleeps until a line comes (or a flush or the end is asked for).
    void sleep_until_needed(std::unique_lock<std::mutex>& lock) {
        asleep_.store(true);
        lock.unlock();
        const bool pending = anything_logged();  // a line appended before asleep_ was set
        lock.lock();
        if (!pending) wake_.wait(lock, [this] { return stopping_ || woken_ || flushing_ > 0; });
        asleep_.store(false);
        woken_ = false;
    }

    void run() {
        std::string spare;
        for (;;) {
            std::unique_lock lock(mutex_);
            if (!stopping_ && flushing_ == 0) sleep_until_needed(lock);
            const std::uint64_t round = ++rounds_started_;
            const bool stop = stopping_;
            lock.unlock();
            const bool wrote = write_round(spare);
            lock.lock();
            rounds_done_ = round;
            flushed_.notify_all();
            if (stop && !wrote) return;
            // Linger so lines that arrive meanwhile go out together, without waking us one by one.
            wake_.wait_for(lock, linger, [this] { return stopping_ || flushing_ > 0; });
        }
    }

    std::mutex mutex_;
    std::condition_variable wake_;
    std::condition_variable flushed_;
    std::vector<std::shared_ptr<Batch>> batches_;
    std::atomic<bool> asleep_{false};
    bool woken_ = false;
    bool stopping_ = false;
    int flushing_ = 0;
    std::uint64_t rounds_started_ = 0;
    std::uint64_t rounds_done_ = 0;
    std::atomic<std::uint64_t> dropped_{0};
    std::thread thread_;
};

Writer& writer() {
    static Writer w;
    return w;
}

}  // namespace

void append_now_iso8601(std::string& out) {
    using namespace std::chrono;
    const auto now = system_clock::now();
    const auto t = system_clock::to_time_t(now);
    const auto ms = static_cast<int>(duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000);
    // gmtime_r takes glibc's time zone lock: the text up to the second is made once a second per thread.
    thread_local std::time_t cached_second = -1;
    thread_local char cached[32] = "";
    thread_local int cached_size = 0;
    if (t != cached_second) {
        std::tm tm{};
        gmtime_r(&t, &tm);
        cached_size = std::snprintf(cached, sizeof cached, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                                    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        cached_second = t;
    }
    const char millis[] = {'.', static_cast<char>('0' + ms / 100), static_cast<char>('0' + ms / 10 % 10),
                           static_cast<char>('0' + ms % 10), 'Z'};
    out.append(cached, static_cast<std::size_t>(cached_size));
    out.append(millis, sizeof millis);
}

std::string now_iso8601() {
    std::string s;
    append_now_iso8601(s);
    return s;
}

void write(nlohmann::json line) {
    if (!line.contains("time")) line["time"] = now_iso8601();
    // replace: invalid UTF-8 from a hostile source must not throw here.
    writer().push(line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

void write_rendered(std::string_view line) { writer().push(line); }

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
