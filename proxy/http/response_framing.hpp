#pragma once
// How an upstream's response is framed for the client, and whether the client connection stays
// open: the chunked / close-delimited / HTTP/1.0 fix-ups of a relay. Pure: no I/O, no state.
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>

namespace ig {

// THE keep-alive rule for a client connection: the client asked for it (every Connection field
// counted, HTTP/1.0 needs "keep-alive"), its request was read to the end (an unread body would be
// taken for the next request) and the gateway is not closing (drain).
inline bool client_keep_alive(const boost::beast::http::basic_parser<true>& request, bool closing) {
    return request.keep_alive() && request.is_done() && !closing;
}

// What is known of the request when its response is framed.
struct RelayRequest {
    unsigned version = 11;  // the client's HTTP version (10 or 11)
    bool head = false;  // HEAD: the response has no body
    bool keep_alive = false;  // client_keep_alive() for this request
};

struct ResponseFraming {
    enum class Body {
        None,  // HEAD, 1xx, 204, 304: the header is all that is sent
        AsIs,  // relayed with the upstream's own framing (Content-Length or chunked)
        ToChunked,  // close-delimited upstream body, chunked for an HTTP/1.1 client
        FromChunked,  // chunked upstream body, close-delimited for an HTTP/1.0 client
        UntilClose,  // close-delimited upstream body, close-delimited for an HTTP/1.0 client
    };
    Body body = Body::AsIs;
    unsigned version = 11;  // of the response to the client: its own
    bool keep_alive = false;  // the client connection stays open after this response
};

// The framing facts of an upstream response whose header has been read (its framing already
// checked by check_response_framing).
struct UpstreamResponse {
    unsigned status = 200;
    bool chunked = false;
    bool content_length = false;
    bool complete = false;  // the parser holds the whole message already (e.g. Content-Length: 0)
};

template <class Body, class Allocator>
UpstreamResponse upstream_response(const boost::beast::http::parser<false, Body, Allocator>& p) {
    const auto& res = p.get();
    return {res.result_int(), res.chunked(), res.has_content_length(), p.is_done()};
}

// Decides the framing towards the client. A close-delimited body cannot be followed by another
// response on an HTTP/1.0 connection, nor can anything follow a 101.
ResponseFraming frame_response(const UpstreamResponse& res, const RelayRequest& req);

// Sets what frame_response() decided on the response header sent to the client:
// Transfer-Encoding, version and Connection.
template <class Body, class Fields>
void apply_framing(boost::beast::http::message<false, Body, Fields>& res, const ResponseFraming& framing) {
    if (framing.body == ResponseFraming::Body::ToChunked) res.chunked(true);
    if (framing.body == ResponseFraming::Body::FromChunked) res.chunked(false);
    res.version(framing.version);
    res.keep_alive(framing.keep_alive);
}

}  // namespace ig
