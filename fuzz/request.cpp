// A client's request up to the header the gateway forwards: Beast's request parser with the
// gateway's limits, fed in pieces as a socket would, the framing check of the session, then THE
// header-hygiene step (strip_client_headers, set_forward_headers); the body and any chunked
// trailers are read on afterwards. Input: one byte that picks the piece size, then the bytes the
// client sent.
//
// What must hold for the forwarded header: every value is free of CR, LF and NUL; each identity
// header the gateway sets is there once with the gateway's value; no hop-by-hop or client-set
// identity header survives; and the header as written parses again.
#include "core/config/config.hpp"
#include "core/graph/bounded_parser.hpp"
#include "proxy/answer/headers.hpp"
#include "proxy/http/request_arena.hpp"
#include "proxy/http/request_framing.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>
#include <tuple>

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

const ig::Config& config() {
    static const ig::Config c = [] {
        ig::Config c;
        c.outcomes[static_cast<std::size_t>(ig::Outcome::Compliant)].headers = {{"X-Auth-Level", "device"}};
        // Over Beast's per-field limit, as a config may set it: a field too long for Beast must be
        // refused (header_limit), never thrown (issue 26 #2).
        c.limits.max_header_bytes = 256 * 1024;
        return c;
    }();
    return c;
}

const std::string device_id = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";
const std::string client_address = "203.0.113.7";

void require(bool ok) {
    if (!ok) std::abort();
}

bool starts_with_icase(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() && beast::iequals(s.substr(0, prefix.size()), prefix);
}

void check_forwarded_header(const http::request_header<ig::ArenaFields>& req, const ig::HeaderPolicy& policy) {
    const std::string_view set_by_us[] = {"x-intune-outcome", "x-intune-compliance-state", "x-request-id",
                                          "x-forwarded-for",  "x-forwarded-proto",         "x-auth-level"};
    for (const auto& f : req) {
        const auto name = f.name_string();
        const auto value = f.value();
        require(!name.empty());
        require(value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos);
        for (std::string_view hop : {"connection", "keep-alive", "te", "trailer", "upgrade", "forwarded"})
            require(!beast::iequals(name, hop));
        require(!starts_with_icase(name, "proxy-"));
        if (starts_with_icase(name, "x-intune-") || starts_with_icase(name, "x-forwarded-")) {
            const bool ours = beast::iequals(name, policy.device_header) ||
                              std::any_of(std::begin(set_by_us), std::end(set_by_us),
                                          [&](std::string_view n) { return beast::iequals(n, name); });
            require(ours);
        }
    }
    require(req.count(policy.device_header) == 1 && req[policy.device_header] == device_id);
    require(req.count("X-Intune-Outcome") == 1 && req["X-Intune-Outcome"] == "Compliant");
    require(req.count("X-Forwarded-For") == 1 && req["X-Forwarded-For"] == client_address);
    require(req.count("X-Auth-Level") == 1 && req["X-Auth-Level"] == "device");

    // What the upstream reads must be a header it can parse.
    std::ostringstream written;
    written << req;
    const std::string text = written.str();
    http::request_parser<http::empty_body> again;
    again.header_limit(1 << 20);
    beast::error_code ec;
    again.put(net::buffer(text), ec);
    require(!ec && again.is_header_done());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const std::size_t piece = data[0] == 0 ? size : data[0];
    std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
    static const ig::HeaderPolicy policy = ig::make_header_policy(config());

    // As a session: the fields in a request arena whose block the "worker" lends again and again.
    static ig::RequestArena::Spares spares;
    ig::RequestArena arena(spares);
    ig::BoundedRequestParser<http::buffer_body, ig::ArenaAllocator> parser(std::piecewise_construct, std::make_tuple(),
                                                                           std::make_tuple(arena.allocator()));
    parser.header_limit(static_cast<std::uint32_t>(config().limits.max_header_bytes));
    parser.body_limit(config().limits.max_body_bytes);

    std::string pending;
    std::size_t offset = 0;
    auto more = [&] {
        if (offset >= input.size()) return false;
        const auto n = std::min(piece, input.size() - offset);
        pending.append(input.substr(offset, n));
        offset += n;
        return true;
    };
    beast::error_code ec;
    while (!parser.is_header_done()) {
        if (!more()) return 0;  // the client stopped mid-header: nothing is forwarded
        const auto used = parser.put(net::buffer(pending), ec);
        pending.erase(0, used);
        if (ec == http::error::need_more)
            ec = {};
        else if (ec)
            return 0;  // refused with 400/413/431
    }

    auto& req = parser.get();
    // The session's framing check: anything it refuses gets 400 and is never forwarded.
    const auto framing = ig::check_request_framing(req);
    if (!framing.ok()) return 0;
    if (framing.origin_target) req.target(*framing.origin_target);

    ig::Verdict verdict;
    verdict.outcome = ig::Outcome::Compliant;
    verdict.compliance_state = "compliant";
    ig::ForwardFacts facts;
    facts.outcome = verdict.outcome;
    facts.device_id = &device_id;
    facts.verdict = &verdict;
    facts.request_id = "0123456789abcdef";
    facts.client_address = client_address;
    facts.chunked = parser.chunked();
    if (auto n = parser.content_length()) facts.content_length = *n;
    req.erase(http::field::expect);
    ig::strip_client_headers(req, policy);
    ig::set_forward_headers(req, policy, facts);
    req.version(11);
    check_forwarded_header(req, policy);

    // The body as the relay reads it (chunked trailers included), its buffer bounded as there.
    // Trailer fields merged into `req` here never reach the upstream: the session relays the
    // header it serialised before the body.
    char scratch[4096];
    while (!parser.is_done()) {
        req.body().data = scratch;
        req.body().size = sizeof scratch;
        const auto used = parser.put(net::buffer(pending), ec);
        pending.erase(0, used);
        if (ec == http::error::need_buffer) ec = {};
        if (ec == http::error::need_more || (!ec && used == 0)) {
            ec = {};
            // The relay's read buffer is full: a chunk line or trailer too long (buffer_overflow).
            if (pending.size() >= ig::max_body_framing_bytes) break;
            if (!more()) {
                parser.put_eof(ec);
                break;
            }
            continue;
        }
        if (ec) break;
    }
    return 0;
}
