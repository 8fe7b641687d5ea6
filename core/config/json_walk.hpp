#pragma once
// Reading a JSON document with typed getters that report every problem by its JSON Pointer
// ("config error: /intune/timeout_ms: must be between 1 and 600000, got 0") and go on: the config
// loader's walk, apart from what the values mean.
#include "core/text/text.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ig {

// One reference token of a JSON Pointer (RFC 6901), printable.
std::string pointer_token(std::string_view key);
// printable(s) in double quotes.
std::string in_quotes(std::string_view s);

class JsonWalk;

// One JSON object of the document: its members by key, their pointers, and unknown keys reported.
class JsonObject {
public:
    JsonObject(JsonWalk& walk, const nlohmann::json& j, std::string ptr,
               std::initializer_list<std::string_view> allowed);
    const nlohmann::json* get(std::string_view key) const {
        auto it = j_.find(key);
        return it == j_.end() ? nullptr : &*it;
    }
    std::string at(std::string_view key) const { return ptr_ + "/" + pointer_token(key); }
    const std::string& ptr() const { return ptr_; }

private:
    const nlohmann::json& j_;
    std::string ptr_;
};

// The walk's problems and the typed getters. A getter that finds a problem records it and returns
// nothing (or leaves `out` as it was), so one pass reports every problem of the document.
class JsonWalk {
public:
    // base: the folder relative file paths resolve against.
    explicit JsonWalk(std::filesystem::path base) : base_(std::move(base)) {}

    std::vector<std::string> errors;  // "config error: <pointer>: <message>"
    std::vector<std::string> warnings;  // "<pointer>: <message>"

    void error(const std::string& ptr, const std::string& msg);
    void warn(const std::string& ptr, const std::string& msg) { warnings.push_back(ptr + ": " + msg); }
    void type_error(const std::string& ptr, std::string_view expected, const nlohmann::json& v);
    // Records `problem` (a check's message, nothing when fine) as an error at ptr.
    void report(const std::optional<std::string>& problem, const std::string& ptr) {
        if (problem) error(ptr, *problem);
    }

    std::optional<JsonObject> object(const nlohmann::json* v, const std::string& ptr,
                                     std::initializer_list<std::string_view> allowed);
    std::optional<std::string> string(const nlohmann::json& v, const std::string& ptr, bool allow_empty = false);
    void string(const JsonObject& o, std::string_view key, std::string& out);
    void boolean(const JsonObject& o, std::string_view key, bool& out);
    std::optional<std::uint64_t> integer(const JsonObject& o, std::string_view key, std::uint64_t min,
                                         std::uint64_t max);

    template <class T>
    void number(const JsonObject& o, std::string_view key, T& out, std::uint64_t min, std::uint64_t max) {
        if (auto n = integer(o, key, min, max)) out = static_cast<T>(*n);
    }

    template <class Rep, class Period>
    void duration(const JsonObject& o, std::string_view key, std::chrono::duration<Rep, Period>& out, std::uint64_t min,
                  std::uint64_t max) {
        if (auto n = integer(o, key, min, max)) out = std::chrono::duration<Rep, Period>(static_cast<Rep>(*n));
    }

    // One of `names`, returned as its index.
    std::optional<std::size_t> choice(const JsonObject& o, std::string_view key,
                                      std::initializer_list<std::string_view> names);

    // A file path, resolved against the base folder and stored absolute.
    struct File {
        std::filesystem::path path;
        std::string shown;  // as written, for messages
        std::string ptr;
    };
    std::optional<File> file(const nlohmann::json& v, const std::string& ptr);
    std::optional<File> file(const JsonObject& o, std::string_view key, bool required, bool nullable = false);

private:
    std::filesystem::path base_;
};

}  // namespace ig
