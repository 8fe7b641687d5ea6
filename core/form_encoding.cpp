#include "core/form_encoding.hpp"

#include <boost/url/encode.hpp>
#include <boost/url/grammar/lut_chars.hpp>
#include <boost/url/pct_string_view.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

namespace ig {
namespace urls = boost::urls;

namespace {

// '~' is unreserved, but some form parsers mangle it: encode it too.
constexpr auto form_safe = urls::unreserved_chars - urls::grammar::lut_chars('~');

std::optional<std::string> decode_component(std::string_view s) {
    auto pct = urls::make_pct_string_view(s);
    if (!pct) return std::nullopt;
    urls::encoding_opts opt;
    opt.space_as_plus = true;
    return pct->decode(opt);
}

}  // namespace

std::string form_encode(const FormFields& fields) {
    std::string out;
    for (const auto& [name, value] : fields) {
        if (!out.empty()) out += '&';
        out += urls::encode(name, form_safe);
        out += '=';
        out += urls::encode(value, form_safe);
    }
    return out;
}

std::optional<FormFields> form_decode(std::string_view body) {
    FormFields fields;
    while (!body.empty()) {
        const auto amp = body.find('&');
        const std::string_view pair = body.substr(0, amp);
        body = amp == std::string_view::npos ? std::string_view{} : body.substr(amp + 1);
        if (pair.empty()) continue;
        const auto eq = pair.find('=');
        auto name = decode_component(pair.substr(0, eq));
        auto value = decode_component(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1));
        if (!name || !value) return std::nullopt;
        fields.emplace_back(std::move(*name), std::move(*value));
    }
    return fields;
}

}  // namespace ig
