#include "proxy/answer/recheck.hpp"

#include "core/text/text.hpp"

#include <boost/asio/async_result.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <memory>

namespace ig {
namespace net = boost::asio;

namespace {

int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// The byte a "%XY" at `i` stands for, or -1.
int encoded_at(std::string_view s, std::size_t i) {
    if (i + 2 >= s.size() || s[i] != '%') return -1;
    const int hi = hex(s[i + 1]), lo = hex(s[i + 2]);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

// One form-encoded name or value, decoded; nullopt for a '%' not followed by two hex digits.
std::optional<std::string> form_decode(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '+') {
            out += ' ';
        } else if (s[i] != '%') {
            out += s[i];
        } else {
            const int b = encoded_at(s, i);
            if (b < 0) return std::nullopt;
            out += static_cast<char>(b);
            i += 2;
        }
    }
    return out;
}

}  // namespace

bool is_recheck_path(std::string_view target) { return target.substr(0, target.find('?')) == recheck_path; }

std::string recheck_location(std::string_view value) {
    if (value.empty() || value[0] != '/' || value.size() > max_return_bytes) return "/";
    // `//host` and `/\host` name another site; so may `/%2F...` and `/%5C...` once something decodes them.
    if (value.size() > 1 && (value[1] == '/' || value[1] == '\\')) return "/";
    if (const int second = encoded_at(value, 1); second == '/' || second == '\\') return "/";
    for (std::size_t i = 0; i < value.size(); ++i) {
        const auto c = static_cast<unsigned char>(value[i]);
        // Browsers read `\` as `/` and drop tabs and newlines from URLs (`/\t/evil` is `//evil`);
        // a request target is ASCII, so any other byte did not come from the page's hidden field.
        if (c <= 0x20 || c >= 0x7f || c == '\\') return "/";
        // Encoded control characters (%0d%0a...) and backslashes have no business in a path either.
        if (const int e = encoded_at(value, i); e >= 0 && (e < 0x20 || e == 0x7f || e == '\\')) return "/";
    }
    return std::string(value);
}

std::optional<std::string> form_field(std::string_view body, std::string_view name) {
    std::optional<std::string> found;
    while (!body.empty()) {
        const auto amp = body.find('&');
        const auto pair = body.substr(0, amp);
        body = amp == std::string_view::npos ? std::string_view() : body.substr(amp + 1);
        const auto eq = pair.find('=');
        auto key = form_decode(pair.substr(0, eq));
        if (!key || *key != name) continue;
        if (found) return std::nullopt;  // twice: which one the page meant cannot be told
        found = form_decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
        if (!found) return std::nullopt;
    }
    return found;
}

template <class Executor>
net::awaitable<Recheck, Executor> recheck_device(ComplianceService& compliance,
                                                 const std::optional<std::string>& device_id,
                                                 std::chrono::seconds interval, std::string_view request_id) {
    Recheck out;
    if (!device_id) co_return out;
    if (!compliance.admit_recheck(*device_id, interval)) {
        out.result = RecheckResult::RateLimited;
        if (auto hit = compliance.cached(*device_id)) out.verdict = std::move(*hit);
        co_return out;
    }
    out.result = RecheckResult::Rechecked;
    co_await compliance.async_invalidate(*device_id, net::use_awaitable_t<Executor>{});
    out.verdict =
        co_await compliance.async_lookup(*device_id, std::string(request_id), net::use_awaitable_t<Executor>{});
    co_return out;
}

template net::awaitable<Recheck, net::any_io_executor> recheck_device(ComplianceService&,
                                                                      const std::optional<std::string>&,
                                                                      std::chrono::seconds, std::string_view);
template net::awaitable<Recheck, net::io_context::executor_type> recheck_device(ComplianceService&,
                                                                                const std::optional<std::string>&,
                                                                                std::chrono::seconds, std::string_view);

Answer plan_recheck(Dialect dialect, std::string_view location) {
    Answer a;
    a.action = Action::Redirect;
    a.configured_status = 303;
    a.status = dialect == Dialect::AuthzNginx ? 401 : 303;
    a.headers.reserve(3);
    a.headers.emplace_back("Location", sanitize_header_value(location));
    a.headers.emplace_back("Cache-Control", "no-store");
    if (dialect == Dialect::AuthzNginx) a.headers.emplace_back("X-Intune-Status", "303");
    return a;
}

}  // namespace ig
