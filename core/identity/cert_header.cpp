#include "core/identity/cert_header.hpp"

#include <openssl/evp.h>
#include <boost/beast/core/string.hpp>
#include <boost/url/pct_string_view.hpp>

#include <algorithm>
#include <array>
#include <vector>

namespace ig {
namespace {

using boost::beast::iequals;

constexpr std::string_view pem_begin = "-----BEGIN CERTIFICATE-----";
constexpr std::string_view pem_end = "-----END CERTIFICATE-----";
// The keys an XFCC element may carry (Envoy's documentation); a value that starts with one of them
// and '=' is XFCC. Base64 DER of a certificate always starts with "MI", so the two never meet.
constexpr std::array<std::string_view, 7> xfcc_keys{"By", "Hash", "Cert", "Chain", "Subject", "URI", "DNS"};

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
    return s;
}

// Standard base64 with padding (RFC 4648 §4); blanks inside are skipped (PEM line breaks turned
// into spaces). OpenSSL does the decoding.
std::optional<std::string> base64_decode(std::string_view text) {
    std::string compact;
    compact.reserve(text.size());
    for (char c : text)
        if (!is_blank(c)) compact.push_back(c);
    if (compact.empty() || compact.size() % 4 != 0) return std::nullopt;
    std::string out(compact.size() / 4 * 3, '\0');
    const int n =
        EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                        reinterpret_cast<const unsigned char*>(compact.data()), static_cast<int>(compact.size()));
    if (n < 0) return std::nullopt;
    // EVP_DecodeBlock counts the padding as zero bytes.
    std::size_t pad = 0;
    if (compact.back() == '=') ++pad;
    if (compact.size() >= 2 && compact[compact.size() - 2] == '=') ++pad;
    out.resize(static_cast<std::size_t>(n) - pad);
    return out;
}

// The first certificate of a PEM text whose line breaks may have become spaces or tabs.
std::optional<std::string> pem_first_certificate(std::string_view text) {
    const auto begin = text.find(pem_begin);
    if (begin == std::string_view::npos) return std::nullopt;
    const auto body = begin + pem_begin.size();
    const auto end = text.find(pem_end, body);
    if (end == std::string_view::npos) return std::nullopt;
    return base64_decode(text.substr(body, end - body));
}

std::optional<std::string> percent_decode(std::string_view text) {
    auto pv = boost::urls::make_pct_string_view(text);
    if (!pv) return std::nullopt;
    return pv->decode();
}

// Splits on `sep` outside double quotes (a backslash escapes the next character inside quotes).
std::vector<std::string_view> split_unquoted(std::string_view s, char sep) {
    std::vector<std::string_view> parts;
    bool quoted = false;
    std::size_t start = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (quoted && c == '\\') {
            ++i;
        } else if (c == '"') {
            quoted = !quoted;
        } else if (!quoted && c == sep) {
            parts.push_back(s.substr(start, i - start));
            start = i + 1;
        }
    }
    if (quoted) return {};  // an unterminated quote: not XFCC
    parts.push_back(s.substr(start));
    return parts;
}

// A value as XFCC writes it: either bare, or double-quoted with \" (and \\) escapes.
std::string unquote(std::string_view v) {
    v = trim(v);
    if (v.size() < 2 || v.front() != '"' || v.back() != '"') return std::string(v);
    std::string out;
    v = v.substr(1, v.size() - 2);
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (v[i] == '\\' && i + 1 < v.size()) ++i;
        out.push_back(v[i]);
    }
    return out;
}

bool looks_like_xfcc(std::string_view v) {
    const auto eq = v.find('=');
    if (eq == std::string_view::npos) return false;
    const auto key = trim(v.substr(0, eq));
    return std::any_of(xfcc_keys.begin(), xfcc_keys.end(), [&](std::string_view k) { return iequals(k, key); });
}

// The last element is the one the nearest proxy added: the certificate of its own client.
std::optional<std::string> xfcc_certificate(std::string_view v) {
    const auto elements = split_unquoted(v, ',');
    if (elements.empty()) return std::nullopt;
    std::optional<std::string> cert;
    for (const auto pair : split_unquoted(elements.back(), ';')) {
        const auto eq = pair.find('=');
        if (eq == std::string_view::npos) continue;
        if (!iequals(trim(pair.substr(0, eq)), "Cert")) continue;
        if (cert) return std::nullopt;  // two Cert= in one element: refuse to choose
        cert = unquote(pair.substr(eq + 1));
    }
    if (!cert) return std::nullopt;
    auto pem = percent_decode(*cert);
    if (!pem) return std::nullopt;
    return pem_first_certificate(*pem);
}

}  // namespace

std::string_view to_string(CertHeaderForm form) {
    switch (form) {
        case CertHeaderForm::Rfc9440: return "rfc9440";
        case CertHeaderForm::Base64Der: return "base64_der";
        case CertHeaderForm::Pem: return "pem";
        case CertHeaderForm::Xfcc: return "xfcc";
    }
    return "unknown";
}

std::optional<CertFromHeader> certificate_from_header(std::string_view value) {
    const auto v = trim(value);
    if (v.empty()) return std::nullopt;
    std::optional<std::string> der;
    CertHeaderForm form;
    if (v.size() >= 2 && v.front() == ':' && v.back() == ':') {
        form = CertHeaderForm::Rfc9440;
        der = base64_decode(v.substr(1, v.size() - 2));
    } else if (looks_like_xfcc(v)) {
        form = CertHeaderForm::Xfcc;
        der = xfcc_certificate(v);
    } else if (v.find("-----BEGIN") != std::string_view::npos) {
        form = CertHeaderForm::Pem;
        if (v.find('%') != std::string_view::npos) {
            if (auto decoded = percent_decode(v)) der = pem_first_certificate(*decoded);
        } else {
            der = pem_first_certificate(v);
        }
    } else {
        form = CertHeaderForm::Base64Der;
        der = base64_decode(v.substr(0, v.find(',')));
    }
    if (!der || der->empty()) return std::nullopt;
    return CertFromHeader{std::move(*der), form};
}

}  // namespace ig
