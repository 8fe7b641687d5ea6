#include "tests/support/form_decode.hpp"

#include <boost/url/pct_string_view.hpp>

namespace ig::test {
namespace urls = boost::urls;

std::optional<std::string> form_decode_component(std::string_view text) {
    auto pct = urls::make_pct_string_view(text);
    if (!pct) return std::nullopt;
    urls::encoding_opts opt;
    opt.space_as_plus = true;
    return pct->decode(opt);
}

std::optional<FormFields> form_decode(std::string_view body) {
    FormFields fields;
    while (!body.empty()) {
        const auto amp = body.find('&');
        const std::string_view pair = body.substr(0, amp);
        body = amp == std::string_view::npos ? std::string_view{} : body.substr(amp + 1);
        if (pair.empty()) continue;
        const auto eq = pair.find('=');
        auto name = form_decode_component(pair.substr(0, eq));
        auto value = form_decode_component(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
        if (!name || !value) return std::nullopt;
        fields.emplace_back(std::move(*name), std::move(*value));
    }
    return fields;
}

}  // namespace ig::test
