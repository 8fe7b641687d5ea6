#include "core/config/json_walk.hpp"

#include "core/text/text.hpp"

#include <algorithm>

namespace ig {

using json = nlohmann::json;

std::string pointer_token(std::string_view key) {
    std::string out;
    for (char c : key) {
        if (c == '~')
            out += "~0";
        else if (c == '/')
            out += "~1";
        else
            out += c;
    }
    return printable(out);
}

std::string in_quotes(std::string_view s) { return "\"" + printable(s) + "\""; }

JsonObject::JsonObject(JsonWalk& walk, const json& j, std::string ptr, std::initializer_list<std::string_view> allowed)
    : j_(j), ptr_(std::move(ptr)) {
    for (const auto& [key, value] : j.items())
        if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) walk.error(at(key), "unknown key");
}

void JsonWalk::error(const std::string& ptr, const std::string& msg) {
    errors.push_back("config error: " + (ptr.empty() ? std::string("/") : ptr) + ": " + msg);
}

void JsonWalk::type_error(const std::string& ptr, std::string_view expected, const json& v) {
    const bool vowel = expected.front() == 'a' || expected.front() == 'o' || expected.front() == 'i';
    error(ptr, "expected " + std::string(vowel ? "an " : "a ") + std::string(expected) + ", got " + v.type_name());
}

std::optional<JsonObject> JsonWalk::object(const json* v, const std::string& ptr,
                                           std::initializer_list<std::string_view> allowed) {
    if (!v) return std::nullopt;
    if (!v->is_object()) {
        type_error(ptr, "object", *v);
        return std::nullopt;
    }
    return JsonObject(*this, *v, ptr, allowed);
}

std::optional<std::string> JsonWalk::string(const json& v, const std::string& ptr, bool allow_empty) {
    if (!v.is_string()) {
        type_error(ptr, "string", v);
        return std::nullopt;
    }
    const auto& s = v.get_ref<const std::string&>();
    if (s.empty() && !allow_empty) {
        error(ptr, "must not be empty");
        return std::nullopt;
    }
    return s;
}

void JsonWalk::string(const JsonObject& o, std::string_view key, std::string& out) {
    if (auto* v = o.get(key))
        if (auto s = string(*v, o.at(key))) out = *s;
}

void JsonWalk::boolean(const JsonObject& o, std::string_view key, bool& out) {
    auto* v = o.get(key);
    if (!v) return;
    if (!v->is_boolean()) return type_error(o.at(key), "boolean", *v);
    out = v->get<bool>();
}

std::optional<std::uint64_t> JsonWalk::integer(const JsonObject& o, std::string_view key, std::uint64_t min,
                                               std::uint64_t max) {
    auto* v = o.get(key);
    if (!v) return std::nullopt;
    auto ptr = o.at(key);
    if (!v->is_number_integer()) {
        type_error(ptr, "integer", *v);
        return std::nullopt;
    }
    // Parsed text stores non-negative numbers as unsigned, values built in code as signed.
    bool negative = !v->is_number_unsigned() && v->get<std::int64_t>() < 0;
    auto n = negative ? 0 : v->get<std::uint64_t>();
    if (negative || n < min || n > max) {
        error(ptr, "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got " + v->dump());
        return std::nullopt;
    }
    return n;
}

std::optional<std::size_t> JsonWalk::choice(const JsonObject& o, std::string_view key,
                                            std::initializer_list<std::string_view> names) {
    auto* v = o.get(key);
    if (!v) return std::nullopt;
    auto s = string(*v, o.at(key), true);
    if (!s) return std::nullopt;
    std::size_t i = 0;
    std::string list;
    for (auto n : names) {
        if (*s == n) return i;
        list += (i++ ? ", " : "") + in_quotes(n);
    }
    error(o.at(key), "must be one of " + list + ", got " + in_quotes(*s));
    return std::nullopt;
}

std::optional<JsonWalk::File> JsonWalk::file(const json& v, const std::string& ptr) {
    auto s = string(v, ptr);
    if (!s) return std::nullopt;
    if (has_control(*s) || s->find('\0') != std::string::npos) {
        error(ptr, "must not contain control characters");
        return std::nullopt;
    }
    std::filesystem::path p(*s);
    return File{(p.is_absolute() ? p : base_ / p).lexically_normal(), printable(*s), ptr};
}

std::optional<JsonWalk::File> JsonWalk::file(const JsonObject& o, std::string_view key, bool required, bool nullable) {
    auto* v = o.get(key);
    if (!v) {
        if (required) error(o.at(key), "is required");
        return std::nullopt;
    }
    if (nullable && v->is_null()) return std::nullopt;
    return file(*v, o.at(key));
}

}  // namespace ig
