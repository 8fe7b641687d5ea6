#pragma once
// The parts of an authorization-endpoint check that only look at the request: which dialect its
// path asks for, which certificate header it carries, whether the proxy's verify header agrees.
#include "core/config/config.hpp"
#include "proxy/admin/proxy_metrics.hpp"
#include "proxy/answer/answer.hpp"

#include <boost/beast/http/fields.hpp>

#include <optional>
#include <string_view>

namespace ig {

// The request the proxy is asking about, as far as the check's headers tell, for a redirect's
// {return_url}: the host from X-Forwarded-Host, else Host; the target from X-Forwarded-Uri (Caddy,
// Traefik), else X-Original-URI (nginx), else the path Envoy appended to /authz (check_target).
// Each header counts only when it occurs once, and the first one present decides (a repeated
// X-Forwarded-Host does not fall back to Host, nor a repeated X-Forwarded-Uri to X-Original-URI; a
// host list "a, b" is unknown); a field is empty when unknown, both are when X-Forwarded-Proto
// names a scheme other than https (docs/plugin-mode.md). Access policies read the same request
// (docs/policies.md): unknown where a policy needs it is "original request unknown". Only checks
// from trusted peers get this far.
struct OriginalRequest {
    std::string_view host;
    std::string_view target;
};
OriginalRequest original_request(const boost::beast::http::fields& fields, std::string_view check_target);

// The original request's method: X-Forwarded-Method (Traefik, Caddy), else X-Original-Method
// (nginx, the HAProxy Lua), each counting only when it occurs once; empty when unknown.
std::string_view original_method(const boost::beast::http::fields& fields);

// Every path under /authz is a check (Envoy appends the original path to its path_prefix);
// /authz/nginx... is the nginx dialect. nullopt: not a check path (404).
std::optional<Dialect> authz_dialect(std::string_view target);

struct CertHeaderPick {
    enum Kind { None, One, Ambiguous } kind = None;
    std::string_view name;  // One: the header's name as sent
    std::string_view value;  // One: its value
};

// Exactly one non-empty value among `names` (case-insensitive, each counted every time it occurs)
// is One; two or more is Ambiguous: a client may add a header the proxy does not overwrite, so
// "the first one wins" would let it bring someone else's (public) certificate. Empty values
// (a proxy setting the header from an empty variable) count as absent.
CertHeaderPick pick_certificate_header(const boost::beast::http::fields& fields, const std::vector<std::string>& names);

// True when no verify_header is configured, or it occurs exactly once with exactly that value.
bool verify_header_ok(const boost::beast::http::fields& fields, const AuthzConfig& config);

class CertVerifier;

// The device a check's certificate header names. Either the check is refused outright
// (`refusal` set: an ambiguous or unverified certificate), or it goes on to a decision with
// `device_id`, or without one as NoId for `reason`.
struct HeaderIdentity {
    std::optional<AuthzResult> refusal;
    std::string reason;  // refusal: the client-facing reason; NoId: why there is no device
    std::string detail;  // refusal: what the log adds
    std::optional<std::string> device_id;
    bool no_certificate = false;  // NoId because no readable certificate came at all
};

HeaderIdentity identify_from_headers(const boost::beast::http::fields& fields, const AuthzConfig& authz,
                                     const CertVerifier& verifier, const DeviceIdConfig& device_id);

}  // namespace ig
