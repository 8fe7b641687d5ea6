#include "proxy/http/request_framing.hpp"

#include "proxy/http/request_arena.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/url/grammar/ci_string.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <cstddef>

namespace ig {
namespace http = boost::beast::http;
namespace {

using boost::beast::iequals;

template <class Fields>
std::size_t count(const Fields& f, http::field name) {
    std::size_t n = 0;
    for (auto it = f.find(name); it != f.end() && it->name() == name; ++it) ++n;
    return n;
}

bool all_digits(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool valid_host(std::string_view value) {
    if (value.empty()) return false;
    auto authority = boost::urls::parse_authority(value);
    return authority && !authority->has_userinfo() && !authority->host().empty();
}

}  // namespace

template <class Fields>
FramingCheck check_request_framing(const http::request_header<Fields>& req) {
    FramingCheck out;
    const unsigned version = req.version();
    if (version != 10 && version != 11) return {"unsupported HTTP version", {}};

    const std::size_t te = count(req, http::field::transfer_encoding);
    const std::size_t cl = count(req, http::field::content_length);
    // The parser frames by the last Transfer-Encoding field, a serialiser or the upstream may go
    // by the first: only one field, with exactly the one coding the gateway relays, is safe.
    if (te > 1) return {"repeated transfer-encoding", {}};
    if (te == 1) {
        if (version == 10) return {"transfer-encoding in an HTTP/1.0 request", {}};
        if (!iequals(req[http::field::transfer_encoding], "chunked")) return {"unsupported transfer-encoding", {}};
    }
    if (cl > 1) return {"repeated content-length", {}};
    if (cl == 1 && !all_digits(req[http::field::content_length])) return {"bad content-length", {}};
    if (te && cl) return {"both content-length and transfer-encoding", {}};

    const std::size_t hosts = count(req, http::field::host);
    if (hosts > 1) return {"repeated host", {}};
    // HTTP/1.0 allows no Host, but the request goes on as HTTP/1.1, which needs one.
    if (hosts == 0) return {"missing host", {}};
    const std::string_view host = req[http::field::host];
    if (hosts == 1 && !valid_host(host)) return {"bad host", {}};

    const std::string_view target = req.target();
    if (req.method() == http::verb::connect) return {"CONNECT is not served", {}};
    if (target == "*") {
        if (req.method() != http::verb::options) return {"asterisk-form target outside OPTIONS", {}};
        return out;
    }
    if (!target.empty() && target.front() == '/') {
        if (!boost::urls::parse_origin_form(target)) return {"bad request-target", {}};
        return out;
    }
    auto uri = boost::urls::parse_absolute_uri(target);
    if (!uri) return {"bad request-target", {}};
    // Boost.URL's comparison, not beast::iequals: Beast 1.81's reads one byte past the end of the
    // two views once they differ in case, and these views end where the target's buffer ends.
    using boost::urls::grammar::ci_is_equal;
    if (!ci_is_equal(uri->scheme(), "http") && !ci_is_equal(uri->scheme(), "https"))
        return {"bad request-target scheme", {}};
    if (!uri->has_authority() || uri->has_userinfo() || uri->encoded_host().empty())
        return {"bad request-target authority", {}};
    // The upstream sees Host only: the target's authority must name the same origin.
    if (hosts != 1 || !ci_is_equal(uri->encoded_authority(), host))
        return {"request-target authority differs from host", {}};
    std::string origin(uri->encoded_path());
    if (origin.empty()) origin = "/";
    if (uri->has_query()) {
        origin += '?';
        origin += uri->encoded_query();
    }
    out.origin_target = std::move(origin);
    return out;
}

template <class Fields>
std::string_view check_response_framing(const http::response_header<Fields>& res) {
    const std::size_t te = count(res, http::field::transfer_encoding);
    const std::size_t cl = count(res, http::field::content_length);
    if (te > 1) return "repeated transfer-encoding";
    if (cl > 1) return "repeated content-length";
    if (cl == 1 && !all_digits(res[http::field::content_length])) return "bad content-length";
    if (te && cl) return "both content-length and transfer-encoding";
    return {};
}

template FramingCheck check_request_framing(const http::request_header<http::fields>&);
template FramingCheck check_request_framing(const http::request_header<ArenaFields>&);
template std::string_view check_response_framing(const http::response_header<http::fields>&);
template std::string_view check_response_framing(const http::response_header<ArenaFields>&);

}  // namespace ig
