#include "proxy/http/refusal.hpp"

#include "core/text/text.hpp"

#include <boost/beast/http/error.hpp>
#include <nlohmann/json.hpp>

namespace ig {
namespace http = boost::beast::http;

std::optional<Refusal> refusal_for(const boost::system::error_code& ec) {
    if (ec == http::error::header_limit) return Refusal{431, "request header too large"};
    if (ec == http::error::body_limit) return Refusal{413, "request body too large"};
    if (ec.category() != http::make_error_code(http::error::bad_target).category()) return std::nullopt;
    if (ec == http::error::end_of_stream || ec == http::error::partial_message || ec == http::error::need_buffer)
        return std::nullopt;
    return Refusal{400, "bad request"};
}

std::string refusal_body(std::string_view request_id, std::string_view reason, std::string_view outcome) {
    nlohmann::json body;
    if (!outcome.empty()) body["outcome"] = outcome;
    body["request_id"] = request_id;
    body["reason"] = reason;
    return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string client_reason(const Verdict& verdict) {
    if (verdict.outcome == Outcome::Error)
        return "no usable answer from the compliance service; see the log for this request_id";
    return one_line(verdict.reason, 300);
}

std::string reject_body(const Verdict& verdict, std::string_view request_id) {
    return refusal_body(request_id, client_reason(verdict), to_string(verdict.outcome));
}

}  // namespace ig
