#pragma once
// Beast's HTTP parser, made safe against one oversized field: Beast stores a field's name and
// value in at most 65,535 bytes each and throws std::length_error past that, from inside the read
// operation, where no caller can catch it (it ends the process). Here such a field is the parse
// error header_limit instead (431 from a listener), whatever header limit is configured, in the
// header or in a chunked trailer. The fields of a trailer are dropped rather than merged into the
// header: nothing the gateway relays or reads needs them (docs/hostile-clients.md).
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>

#include <cstddef>
#include <memory>

namespace ig {

// The longest field name or value Beast's fields container holds (its 16-bit offsets, less CRLF).
inline constexpr std::size_t max_field_bytes = 65533;

// The most a read buffer holds while a body is parsed out of it: what the parser has not taken yet
// is a chunk-size line with its extensions, a trailer, or body bytes waiting for room. Beast 1.81
// bounds none of the first two: it waits for the end of a chunk line or trailer for as long as
// bytes come, and parses an unterminated quoted chunk extension again from its start on every read
// (quadratic). Past this the read fails with buffer_overflow (docs/hostile-clients.md).
inline constexpr std::size_t max_body_framing_bytes = 8 * 1024;

template <bool isRequest, class Body, class Allocator = std::allocator<char>>
class BoundedParser : public boost::beast::http::parser<isRequest, Body, Allocator> {
public:
    // As Beast's parser: the arguments go to the message (e.g. std::piecewise_construct, no body
    // arguments, the fields' allocator).
    using boost::beast::http::parser<isRequest, Body, Allocator>::parser;

private:
    void on_field_impl(boost::beast::http::field name, boost::beast::string_view name_string,
                       boost::beast::string_view value, boost::beast::error_code& ec) override {
        if (name_string.size() > max_field_bytes || value.size() > max_field_bytes) {
            ec = boost::beast::http::error::header_limit;
            return;
        }
        if (this->is_header_done()) return;  // a field of a chunked trailer
        this->get().insert(name, name_string, value);
    }
};

template <class Body, class Allocator = std::allocator<char>>
using BoundedRequestParser = BoundedParser<true, Body, Allocator>;
template <class Body, class Allocator = std::allocator<char>>
using BoundedResponseParser = BoundedParser<false, Body, Allocator>;

}  // namespace ig
