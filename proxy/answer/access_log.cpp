#include "proxy/answer/access_log.hpp"

#include "core/text/log.hpp"

#include <nlohmann/json.hpp>

#include <charconv>
#include <cmath>

namespace ig {
namespace {

constexpr std::size_t max_field = 1024;  // a hostile path or reason must not blow up a log line

// The line is rendered straight into one string (no JSON object is built per request), keys in
// the order a JSON object would print them. A string of plain printable ASCII is copied as it is;
// anything else (quotes, control bytes, non-ASCII, invalid UTF-8) goes through nlohmann's escaping.
void append_string(std::string& out, std::string_view s) {
    const bool capped = s.size() > max_field;
    if (capped) s = s.substr(0, max_field);
    bool plain = true;
    for (const char c : s)
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f || c == '"' || c == '\\') {
            plain = false;
            break;
        }
    if (plain) {
        out += '"';
        out += s;
        if (capped) out += "...";
        out += '"';
        return;
    }
    std::string text(s);
    if (capped) text += "...";
    out += nlohmann::json(std::move(text)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void append_text_or_null(std::string& out, std::string_view s) {
    if (s.empty())
        out += "null";
    else
        append_string(out, s);
}

void append_unsigned(std::string& out, unsigned n) {
    char buf[16];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n);
    out.append(buf, end);
}

// Milliseconds rounded to the microsecond; 0 for anything not a finite positive number.
void append_millis(std::string& out, double ms) {
    ms = std::isfinite(ms) && ms > 0 ? std::round(ms * 1000.0) / 1000.0 : 0.0;
    char buf[32];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, ms);
    std::string_view v(buf, static_cast<std::size_t>(end - buf));
    out += v;
    if (v.find_first_of(".e") == std::string_view::npos) out += ".0";
}

}  // namespace

void log_access(const AccessRecord& r) {
    // Rendered in a buffer of the thread's own, which keeps its capacity: no allocation per line.
    thread_local std::string line;
    line.clear();
    line += "{\"action\":";
    append_text_or_null(line, r.action);
    line += ",\"cache\":";
    line += r.cache_hit ? "\"hit\"" : "\"miss\"";
    line += ",\"client\":";
    append_string(line, r.client_address);
    line += ",\"compliance_state\":";
    append_text_or_null(line, r.compliance_state);
    line += ",\"device_id\":";
    append_text_or_null(line, r.device_id);
    if (!r.error.empty()) {
        line += ",\"error\":";
        append_string(line, r.error);
    }
    line += ",\"graph_ms\":";
    append_millis(line, r.graph_ms);
    line += ",\"latency_ms\":";
    append_millis(line, r.latency_ms);
    if (!r.method.empty()) {
        line += ",\"method\":";
        append_string(line, r.method);
    }
    line += ",\"outcome\":";
    append_text_or_null(line, r.outcome);
    if (!r.path.empty()) {
        line += ",\"path\":";
        append_string(line, r.path);
    }
    if (!r.policy.empty()) {
        line += ",\"policy\":";
        append_string(line, r.policy);
        line += ",\"policy_result\":";
        append_string(line, r.policy_result);
    }
    line += ",\"request_id\":";
    append_string(line, r.request_id);
    if (!r.requirement.empty()) {
        line += ",\"requirement\":";
        append_string(line, r.requirement);
    }
    line += ",\"status\":";
    append_unsigned(line, r.status);
    line += ",\"time\":\"";
    log::append_now_iso8601(line);
    line += "\",\"type\":\"access\",\"upstream_status\":";
    if (r.upstream_status)
        append_unsigned(line, r.upstream_status);
    else
        line += "null";
    line += '}';
    log::write_rendered(line);
}

}  // namespace ig
