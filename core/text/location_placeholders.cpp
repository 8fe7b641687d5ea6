#include "core/text/location_placeholders.hpp"

#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

namespace ig {

FilledLocation fill_location(std::string_view location, std::string_view request_id, std::string_view return_url) {
    namespace urls = boost::urls;
    FilledLocation out;
    auto unknown = [&](std::string_view written) {
        if (out.unknown.empty()) out.unknown = written.substr(0, 20);
        out.text.append(written);
    };
    std::size_t pos = 0;
    while (pos < location.size()) {
        const auto open = location.find('{', pos);
        const auto close = open == std::string_view::npos ? open : location.find('}', open);
        out.text.append(location.substr(pos, open == std::string_view::npos ? open : open - pos));
        if (open == std::string_view::npos) break;
        if (close == std::string_view::npos) {
            unknown(location.substr(open));
            break;
        }
        const auto name = location.substr(open + 1, close - open - 1);
        if (name == "request_id")
            out.text += urls::encode(request_id, urls::unreserved_chars);
        else if (name == "return_url")
            out.text += urls::encode(return_url, urls::unreserved_chars);
        else
            unknown(location.substr(open, close - open + 1));
        pos = close + 1;
    }
    return out;
}

}  // namespace ig
