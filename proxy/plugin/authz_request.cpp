#include "proxy/plugin/authz_request.hpp"

#include "core/identity/cert_header.hpp"
#include "core/text/text.hpp"
#include "proxy/tls/cert_verify.hpp"

#include <boost/beast/core/string.hpp>

#include <algorithm>

namespace ig {

using boost::beast::iequals;

namespace {

// `path` is `prefix` or continues it with '/'.
bool under(std::string_view path, std::string_view prefix) {
    return path.size() >= prefix.size() && path.substr(0, prefix.size()) == prefix &&
           (path.size() == prefix.size() || path[prefix.size()] == '/');
}

bool blank(std::string_view v) {
    return std::all_of(v.begin(), v.end(), [](char c) { return c == ' ' || c == '\t'; });
}

}  // namespace

namespace {

// The header's value when it occurs exactly once, else empty.
std::string_view single(const boost::beast::http::fields& fields, std::string_view name) {
    return fields.count(name) == 1 ? std::string_view(fields[name]) : std::string_view();
}

}  // namespace

OriginalRequest original_request(const boost::beast::http::fields& fields, std::string_view check_target) {
    if (fields.count("X-Forwarded-Proto") > 0 && !iequals(single(fields, "X-Forwarded-Proto"), "https")) return {};
    OriginalRequest out;
    // The first source present decides: a header given twice (or a list of hosts) leaves that part
    // unknown rather than fall back to the next source (an access policy would judge another URL).
    out.host = single(fields, fields.count("X-Forwarded-Host") > 0 ? "X-Forwarded-Host" : "Host");
    if (out.host.find(',') != std::string_view::npos) out.host = {};
    for (std::string_view name : {"X-Forwarded-Uri", "X-Original-URI"}) {
        if (fields.count(name) == 0) continue;
        out.target = single(fields, name);
        return out;
    }
    constexpr std::string_view prefix = "/authz/";
    if (authz_dialect(check_target) == Dialect::Authz && check_target.substr(0, prefix.size()) == prefix)
        out.target = check_target.substr(prefix.size() - 1);
    return out;
}

std::string_view original_method(const boost::beast::http::fields& fields) {
    auto method = single(fields, "X-Forwarded-Method");
    return method.empty() ? single(fields, "X-Original-Method") : method;
}

std::optional<Dialect> authz_dialect(std::string_view target) {
    const auto path = target.substr(0, target.find('?'));
    if (under(path, "/authz/nginx")) return Dialect::AuthzNginx;
    if (under(path, "/authz")) return Dialect::Authz;
    return std::nullopt;
}

CertHeaderPick pick_certificate_header(const boost::beast::http::fields& fields,
                                       const std::vector<std::string>& names) {
    CertHeaderPick pick;
    for (const auto& f : fields) {
        const auto name = f.name_string();
        if (blank(f.value())) continue;
        if (!std::any_of(names.begin(), names.end(), [&](const std::string& n) { return iequals(n, name); })) continue;
        if (pick.kind == CertHeaderPick::One) return {CertHeaderPick::Ambiguous, {}, {}};
        pick = {CertHeaderPick::One, name, f.value()};
    }
    return pick;
}

bool verify_header_ok(const boost::beast::http::fields& fields, const AuthzConfig& config) {
    if (!config.verify_header) return true;
    const auto& [name, value] = *config.verify_header;
    std::size_t seen = 0;
    bool match = false;
    for (const auto& f : fields) {
        if (!iequals(f.name_string(), name)) continue;
        ++seen;
        match = f.value() == value;
    }
    return seen == 1 && match;
}

HeaderIdentity identify_from_headers(const boost::beast::http::fields& fields, const AuthzConfig& authz,
                                     const CertVerifier& verifier, const DeviceIdConfig& device_id) {
    HeaderIdentity out;
    auto unreadable = [&](const char* reason) {
        out.no_certificate = true;
        out.reason = reason;
        return out;
    };
    const auto pick = pick_certificate_header(fields, authz.certificate_headers);
    if (pick.kind == CertHeaderPick::Ambiguous) {
        out.refusal = AuthzResult::AmbiguousCertificate;
        out.reason = "ambiguous client certificate";
        return out;
    }
    if (pick.kind == CertHeaderPick::None) return unreadable("no client certificate");
    if (!verify_header_ok(fields, authz)) {
        out.refusal = AuthzResult::CertificateNotVerified;
        out.reason = "certificate not verified";
        out.detail = "the proxy's verify header is missing or not the configured value";
        return out;
    }
    auto parsed = certificate_from_header(pick.value);
    if (!parsed) return unreadable("unreadable client certificate header");
    auto checked = verifier.check(parsed->der, device_id);
    switch (checked.status) {
        case CertCheck::NotCertificate: return unreadable("unreadable client certificate header");
        case CertCheck::NotVerified:
            out.refusal = AuthzResult::CertificateNotVerified;
            out.reason = "certificate not verified";
            out.detail = one_line(checked.error, 200);
            return out;
        case CertCheck::Verified: break;
    }
    out.device_id = std::move(checked.device_id);
    if (!out.device_id) out.reason = "no valid device id in the client certificate";
    return out;
}

}  // namespace ig
