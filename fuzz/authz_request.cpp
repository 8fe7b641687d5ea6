// Plugin mode: one check request as a reverse proxy sends it to the authorization endpoint, through
// everything the endpoint does short of the socket and Graph (docs/plugin-mode.md): Beast's
// parser with the endpoint's limits, the dialect of the path, the certificate header (picked,
// verified against the device CA of a real PKI, IG_FUZZ_PKI made by certs/make-pki.sh), the
// original request for {return_url}, then plan_answer() for the outcome the first byte picks.
// Input: one byte (outcome and Accept), then the request's header bytes. "@CERT@" in the input
// stands for the PKI's compliant device certificate (base64 DER), so seeds reach a verified ID.
//
// What must hold: an ID only from a verified certificate, and normalised; a refusal carries none;
// every header of the answer is free of CR, LF and NUL; a redirect's Location keeps the configured
// prefix and what the placeholders add is percent-encoded (it cannot end the query or add a
// parameter, and the redirect cannot leave the configured site).
#include "proxy/plugin/authz_request.hpp"
#include "core/config/config.hpp"
#include "core/graph/bounded_parser.hpp"
#include "core/identity/device_id.hpp"
#include "core/tls/openssl_ptr.hpp"
#include "proxy/answer/answer.hpp"
#include "proxy/tls/cert_verify.hpp"

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

constexpr std::string_view redirect_prefix = "https://portal.example.com/retry?rid=";
constexpr std::string_view request_id = "0123456789abcdef";

void require(bool ok) {
    if (!ok) std::abort();
}

std::filesystem::path pki() {
    const char* dir = std::getenv("IG_FUZZ_PKI");
    return dir ? dir : std::filesystem::current_path();
}

const ig::Config& config() {
    static const ig::Config c = [] {
        ig::Config c;
        c.tls.client_ca = pki() / "device-ca.crt";
        c.authz.verify_header = {{"X-Client-Verify", "SUCCESS"}};
        auto& redirect = c.outcomes[static_cast<std::size_t>(ig::Outcome::NotCompliant)];
        redirect.action = ig::Action::Redirect;
        redirect.status = 303;
        redirect.location = std::string(redirect_prefix) + "{request_id}&back={return_url}";
        c.outcomes[static_cast<std::size_t>(ig::Outcome::Compliant)].action = ig::Action::Forward;
        c.outcomes[static_cast<std::size_t>(ig::Outcome::Compliant)].headers = {{"X-Auth-Level", "device"}};
        auto& reject = c.outcomes[static_cast<std::size_t>(ig::Outcome::Error)];
        reject.help = "Try again later.";
        reject.help_url = "https://help.example.com/";
        return c;
    }();
    return c;
}

// The compliant device's certificate as one base64 DER line (RFC 9440 without the colons).
std::string device_certificate_base64() {
    std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen((pki() / "device-compliant.crt").c_str(), "r"), &std::fclose);
    if (!f) return "bm90LWEtY2VydA==";
    const ig::X509Ptr x(PEM_read_X509(f.get(), nullptr, nullptr, nullptr));
    unsigned char* der = nullptr;
    const int n = x ? i2d_X509(x.get(), &der) : 0;
    std::string out(4 * ((static_cast<std::size_t>(std::max(n, 0)) + 2) / 3) + 1, '\0');
    const int m = n > 0 ? EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), der, n) : 0;
    OPENSSL_free(der);
    out.resize(static_cast<std::size_t>(m));
    return out;
}

std::string with_certificate(std::string_view input) {
    static const std::string cert = device_certificate_base64();
    std::string out(input);
    for (auto at = out.find("@CERT@"); at != std::string::npos; at = out.find("@CERT@", at + cert.size()))
        out.replace(at, 6, cert);
    return out;
}

bool unreserved_or_escape(std::string_view s) {
    for (std::size_t i = 0; i < s.size(); ++i) {
        const unsigned char c = static_cast<unsigned char>(s[i]);
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') continue;
        if (c == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
            std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
            i += 2;
            continue;
        }
        return false;
    }
    return true;
}

void check_answer(const ig::Answer& answer) {
    for (const auto& [name, value] : answer.headers) {
        require(!name.empty());
        require(value.find_first_of(std::string_view("\r\n\0", 3)) == std::string::npos);
    }
    const std::string* location = ig::answer_header(answer, "Location");
    require((answer.action == ig::Action::Redirect) == (location != nullptr));
    if (!location) return;
    // prefix + request id + "&back=" + the encoded return URL, nothing else.
    require(location->compare(0, redirect_prefix.size(), redirect_prefix) == 0);
    const std::string_view rest = std::string_view(*location).substr(redirect_prefix.size());
    constexpr std::string_view back = "&back=";
    const auto at = rest.find(back);
    require(at != std::string_view::npos);
    require(rest.substr(0, at) == request_id);
    require(unreserved_or_escape(rest.substr(at + back.size())));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const std::uint8_t pick = data[0];
    const std::string input = with_certificate({reinterpret_cast<const char*>(data + 1), size - 1});
    static const ig::CertVerifier verifier(config().tls);

    ig::BoundedRequestParser<http::empty_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(config().limits.max_header_bytes));
    beast::error_code ec;
    parser.put(net::buffer(input), ec);
    if (ec || !parser.is_header_done()) return 0;  // 400/431, or the proxy stopped mid-header
    const auto& req = parser.get();

    const auto dialect = ig::authz_dialect(req.target());
    if (!dialect) return 0;  // 404
    const auto identity = ig::identify_from_headers(req, config().authz, verifier, config().device_id);
    if (identity.refusal) require(!identity.device_id);
    if (identity.device_id) {
        require(ig::normalize_guid(*identity.device_id) == *identity.device_id);
        require(ig::verify_header_ok(req, config().authz));
    }

    const auto original = ig::original_request(req, req.target());
    for (auto v : {original.host, original.target})
        require(v.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos);

    constexpr ig::Outcome outcomes[] = {ig::Outcome::Compliant, ig::Outcome::NotCompliant, ig::Outcome::Error,
                                        ig::Outcome::NoId};
    ig::Verdict verdict;
    verdict.outcome = identity.device_id ? outcomes[pick % 4] : ig::Outcome::NoId;
    verdict.compliance_state = "noncompliant";
    verdict.reason = identity.reason;
    const std::string_view accept = (pick & 0x10) ? "text/html" : std::string_view(req[http::field::accept]);
    const auto answer = ig::plan_answer(verdict, identity.device_id,
                                        {*dialect, request_id, accept, original.host, original.target, {}}, config());
    check_answer(answer);
    return 0;
}
