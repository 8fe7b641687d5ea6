// The "outcomes" section (what each outcome does: forward, reject, redirect) and "pages_dir".
#include "core/config/config_loader.hpp"

#include "core/config/config_pem.hpp"
#include "core/graph/origin.hpp"
#include "core/text/header_names.hpp"
#include "core/text/location_placeholders.hpp"

#include <boost/url/grammar/ci_string.hpp>

#include <algorithm>
#include <memory>
#include <vector>

namespace ig::config_load {

namespace {

using boost::urls::grammar::ci_is_equal;
constexpr std::size_t max_help_bytes = 2000;
constexpr std::size_t max_page_bytes = 256 << 10;
}  // namespace

std::optional<OutcomeAction> Loader::outcome(const json& v, const std::string& ptr,
                                             const std::string& device_id_header) {
    if (!v.is_object()) {
        type_error(ptr, "object", v);
        return std::nullopt;
    }
    auto it = v.find("action");
    if (it == v.end()) {
        error(ptr + "/action", "is required (\"forward\", \"reject\" or \"redirect\")");
        return std::nullopt;
    }
    auto name = string(*it, ptr + "/action", true);
    if (!name) return std::nullopt;
    OutcomeAction out;
    std::size_t errors_before = errors.size();
    if (*name == "forward") {
        forward_action(JsonObject(*this, v, ptr, {"action", "headers"}), device_id_header, out);
    } else if (*name == "reject") {
        reject_action(JsonObject(*this, v, ptr, {"action", "status", "help", "help_url"}), out);
    } else if (*name == "redirect") {
        redirect_action(JsonObject(*this, v, ptr, {"action", "location", "status"}), out);
    } else {
        error(ptr + "/action", "must be one of \"forward\", \"reject\", \"redirect\", got " + in_quotes(*name));
        return std::nullopt;
    }
    if (errors.size() != errors_before) return std::nullopt;
    return out;
}

// forward: the request goes upstream, with the headers the operator adds.
void Loader::forward_action(const JsonObject& o, const std::string& device_id_header, OutcomeAction& out) {
    out.action = Action::Forward;
    out.status = 0;
    auto* h = o.get("headers");
    if (!h) return;
    if (!h->is_object()) return type_error(o.at("headers"), "object", *h);
    for (const auto& item : h->items()) {
        const std::string& header = item.key();  // not a structured binding: the lambda below uses it
        const json& value = item.value();
        auto hptr = o.at("headers") + "/" + pointer_token(header);
        if (!is_token(header))
            error(hptr, "is not a valid header name");
        else if (is_reserved_header(header, device_id_header))
            error(hptr, "is a header the gateway or HTTP itself sets; it cannot be configured");
        else if (!value.is_string())
            type_error(hptr, "string", value);
        else if (!is_field_value(value.get_ref<const std::string&>()))
            error(hptr, "value must not contain CR, LF, NUL or other control characters");
        else if (std::any_of(out.headers.begin(), out.headers.end(),
                             [&](const auto& h) { return ci_is_equal(h.first, header); }))
            error(hptr, "is given twice (header names ignore case)");
        else
            out.headers.emplace_back(header, value.get<std::string>());
    }
}

// reject: a status, and what the deny page tells the user to do.
void Loader::reject_action(const JsonObject& o, OutcomeAction& out) {
    out.action = Action::Reject;
    out.status = 403;
    number(o, "status", out.status, 400, 599);
    if (auto* h = o.get("help")) {
        if (auto s = string(*h, o.at("help"))) {
            if (s->size() > max_help_bytes)
                error(o.at("help"), "is longer than " + std::to_string(max_help_bytes) + " bytes");
            else if (std::any_of(s->begin(), s->end(), [](char c) { return c != '\n' && has_control({&c, 1}); }))
                error(o.at("help"), "must not contain control characters other than a line break");
            else
                out.help = *s;
        }
    }
    if (auto* u = o.get("help_url")) {
        if (auto s = string(*u, o.at("help_url"))) {
            auto parsed = parse_url(*s);
            if (!parsed.error.empty())
                error(o.at("help_url"), parsed.error + ": " + in_quotes(*s));
            else
                out.help_url = *s;
        }
    }
}

// redirect: a location (with placeholders) and a redirect status.
void Loader::redirect_action(const JsonObject& o, OutcomeAction& out) {
    out.action = Action::Redirect;
    out.status = 302;
    if (auto* l = o.get("location")) {
        if (auto s = string(*l, o.at("location"))) {
            // Checked as it will be sent: with its placeholders filled in.
            const auto sample = fill_location(*s, "0123456789abcdef0123456789abcdef", "https://example.com/");
            std::string problem;
            if (!sample.unknown.empty())
                problem = "unknown placeholder " + in_quotes(sample.unknown) +
                          " (the placeholders are {request_id} and {return_url})";
            else
                problem = parse_url(sample.text, {.http_allowed = true}).error;
            if (!problem.empty())
                error(o.at("location"), problem);
            else
                out.location = *s;
        }
    } else {
        error(o.at("location"), "is required with action \"redirect\"");
    }
    if (auto s = integer(o, "status", 300, 399)) {
        if (*s == 301 || *s == 302 || *s == 303 || *s == 307 || *s == 308)
            out.status = static_cast<unsigned>(*s);
        else
            error(o.at("status"), "must be 301, 302, 303, 307 or 308, got " + std::to_string(*s));
    }
}

void Loader::outcomes(const json* v, const std::string& device_id_header,
                      std::array<OutcomeAction, outcome_count>& out) {
    for (std::size_t i = 0; i < outcome_count; ++i) {
        out[i] = OutcomeAction{};  // reject 403
        if (static_cast<Outcome>(i) == Outcome::Compliant) {
            out[i].action = Action::Forward;
            out[i].status = 0;
        }
    }
    if (!v) return;
    if (!v->is_object()) return type_error("/outcomes", "object", *v);
    for (const auto& [name, value] : v->items()) {
        auto ptr = "/outcomes/" + pointer_token(name);
        auto which = outcome_from_name(name);
        if (!which) {
            std::string list;
            for (std::size_t i = 0; i < outcome_count; ++i) list += (i ? ", " : "") + std::string(outcome_names[i]);
            error(ptr, "unknown outcome (the outcomes are " + list + ")");
            continue;
        }
        if (auto a = outcome(value, ptr, device_id_header)) out[static_cast<std::size_t>(*which)] = std::move(*a);
    }
}

// pages_dir: <Outcome>.html per outcome that has its own page, read and checked now (a reload
// reads them again), never per request. Every .html file there must name an outcome.
void Loader::pages(const json* v, Config& out) {
    if (!v || v->is_null()) return;
    const std::string ptr = "/pages_dir";
    auto dir = file(*v, ptr);
    if (!dir) return;
    std::error_code ec;
    if (!fs::is_directory(dir->path, ec)) return error(ptr, "'" + dir->shown + "' is not a readable folder");
    out.pages_dir = dir->path;
    fs::directory_iterator it(dir->path, ec), end;
    if (ec) return error(ptr, "cannot read folder '" + dir->shown + "': " + ec.message());
    std::vector<fs::path> files;
    for (; it != end; it.increment(ec)) {
        if (it->path().extension() == ".html") files.push_back(it->path());
    }
    if (ec) return error(ptr, "cannot read folder '" + dir->shown + "': " + ec.message());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
        const std::string name = f.stem().string();
        const std::string shown = printable(f.filename().string());
        auto which = outcome_from_name(name);
        if (!which) {
            error(ptr, "'" + shown + "' does not name an outcome (pages are <Outcome>.html, e.g. NotCompliant.html)");
            continue;
        }
        std::string problem;
        auto text = config_pem::read_file(f, shown, problem, max_page_bytes);
        if (!text) {
            error(ptr, problem);
            continue;
        }
        auto parsed = parse_page_template(*text);
        if (!parsed.error.empty()) {
            error(ptr, "'" + shown + "': " + parsed.error);
            continue;
        }
        auto& action = out.outcomes[static_cast<std::size_t>(*which)];
        if (action.action != Action::Reject)
            warn(ptr, "'" + shown + "' is not used: the outcome's action is not \"reject\"");
        action.page = std::make_shared<const PageTemplate>(std::move(parsed.page));
    }
}

}  // namespace ig::config_load
