#pragma once
// What a request header must look like before the gateway decides anything about it: one way to
// find where the message ends (so the gateway and the upstream can never disagree on it), exactly
// one Host, and a request-target the upstream reads the same way. Pure: no I/O, no state.
#include <boost/beast/http/message.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace ig {

struct FramingCheck {
    std::string_view error;  // empty: acceptable; otherwise why it gets 400
    std::optional<std::string> origin_target;  // an absolute-form target, rewritten to origin-form
    bool ok() const { return error.empty(); }
};

// Checks a parsed request header (RFC 9112):
//  - Transfer-Encoding: at most one field, and then exactly `chunked`; none in HTTP/1.0;
//  - Content-Length: at most one field, digits only; never together with Transfer-Encoding;
//  - Host: exactly one (HTTP/1.0 too: the request goes on as HTTP/1.1), a valid host[:port], no userinfo;
//  - request-target: origin-form; `*` for OPTIONS only; absolute-form http(s) whose authority
//    equals Host, rewritten to origin-form; CONNECT (authority-form) is refused;
//  - HTTP/1.0 or HTTP/1.1 only.
// Fields: boost::beast::http::fields or ArenaFields (proxy/http/request_arena.hpp).
template <class Fields>
FramingCheck check_request_framing(const boost::beast::http::request_header<Fields>& req);

// The same rules for an upstream's response header, whose framing the gateway relays to the
// client: at most one Transfer-Encoding field and one Content-Length field (digits only), never
// both. Empty when acceptable, otherwise why the response is refused (502).
template <class Fields>
std::string_view check_response_framing(const boost::beast::http::response_header<Fields>& res);

}  // namespace ig
