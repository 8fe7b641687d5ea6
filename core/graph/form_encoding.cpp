#include "core/graph/form_encoding.hpp"

#include <boost/url/encode.hpp>
#include <boost/url/grammar/lut_chars.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

namespace ig {
namespace urls = boost::urls;

namespace {

// '~' is unreserved, but some form parsers mangle it: encode it too.
constexpr auto form_safe = urls::unreserved_chars - urls::grammar::lut_chars('~');

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

}  // namespace ig
