// Secrets in the configuration: {"env": NAME}, {"file": PATH} or (demos only) a literal string.
#include "core/config/config_loader.hpp"

#include "core/config/config_pem.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>

namespace ig::config_load {

namespace {
constexpr std::size_t max_secret_bytes = 64 << 10;
}  // namespace

using namespace std::string_literals;

std::optional<Secret> Loader::secret(const JsonObject& o, std::string_view key) {
    auto* v = o.get(key);
    auto ptr = o.at(key);
    if (!v) {
        error(ptr, "is required");
        return std::nullopt;
    }
    if (v->is_string()) {
        // The value itself never appears in a message.
        if (v->get_ref<const std::string&>().empty()) {
            error(ptr, "must not be empty");
            return std::nullopt;
        }
        warn(ptr, "secret is written in the config file; outside demos give {\"env\": NAME} or {\"file\": PATH}");
        return Secret{v->get<std::string>(), "literal in the config file", true};
    }
    if (!v->is_object()) {
        error(ptr, "expected {\"env\": NAME}, {\"file\": PATH} or a string, got "s + v->type_name());
        return std::nullopt;
    }
    JsonObject s(*this, *v, ptr, {"env", "file"});
    const json* env = s.get("env");
    const json* path = s.get("file");
    if (env && path) {
        error(ptr, "give either \"env\" or \"file\", not both");
        return std::nullopt;
    }
    if (env) {
        auto name = string(*env, s.at("env"));
        if (!name) return std::nullopt;
        bool valid = !std::isdigit(static_cast<unsigned char>(name->front())) &&
                     std::all_of(name->begin(), name->end(),
                                 [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; });
        if (!valid) {
            error(s.at("env"), "is not a valid environment variable name");
            return std::nullopt;
        }
        const char* value = std::getenv(name->c_str());
        if (!value)
            error(ptr, "environment variable " + *name + " is not set");
        else if (!*value)
            error(ptr, "environment variable " + *name + " is empty");
        else
            return Secret{value, "environment variable " + *name, false};
        return std::nullopt;
    }
    if (path) {
        auto f = file(*path, s.at("file"));
        if (!f) return std::nullopt;
        std::string problem;
        auto text = config_pem::read_file(f->path, f->shown, problem, max_secret_bytes);
        if (!text) {
            error(ptr, problem);
            return std::nullopt;
        }
        while (!text->empty() && (text->back() == '\n' || text->back() == '\r')) text->pop_back();
        if (text->empty()) {
            error(ptr, "file '" + f->shown + "' is empty");
            return std::nullopt;
        }
        return Secret{std::move(*text), "file " + f->path.string(), false};
    }
    error(ptr, "needs \"env\" or \"file\"");
    return std::nullopt;
}

}  // namespace ig::config_load
