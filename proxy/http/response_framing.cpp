#include "proxy/http/response_framing.hpp"

namespace ig {

ResponseFraming frame_response(const UpstreamResponse& res, const RelayRequest& req) {
    using Body = ResponseFraming::Body;
    ResponseFraming f;
    f.version = req.version == 10 ? 10 : 11;
    f.keep_alive = req.keep_alive && res.status != 101;
    const bool http11 = req.version == 11;
    if (req.head || res.status == 204 || res.status == 304 || res.status / 100 == 1) {
        f.body = Body::None;
    } else if (!res.chunked && !res.content_length && !res.complete) {
        // Delimited by the upstream closing: re-framed as chunked for HTTP/1.1 clients.
        f.body = http11 ? Body::ToChunked : Body::UntilClose;
    } else if (res.chunked && !http11) {
        f.body = Body::FromChunked;
    }
    if (f.body == Body::UntilClose || f.body == Body::FromChunked) f.keep_alive = false;
    return f;
}

}  // namespace ig
