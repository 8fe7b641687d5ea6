#include "proxy/explain.hpp"

#include "core/identity/device_id.hpp"
#include "core/text/log.hpp"
#include "core/text/text.hpp"
#include "core/tls/openssl_ptr.hpp"
#include "core/verdict/compliance.hpp"
#include "proxy/explain_policy.hpp"
#include "proxy/tls/client_ca_store.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ig {
namespace {

std::string openssl_error() {
    const unsigned long e = ERR_get_error();
    char buf[256] = "unknown error";
    if (e) ERR_error_string_n(e, buf, sizeof buf);
    ERR_clear_error();
    return buf;
}

std::string name_text(const X509_NAME* name) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) < 0) return "?";
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio.get(), &data);
    return one_line(std::string_view(data, static_cast<std::size_t>(n)), 300);
}

std::string time_text(const ASN1_TIME* t) {
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || !t || ASN1_TIME_print(bio.get(), t) != 1) return "?";
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(n));
}

std::vector<std::string> san_uris(X509* cert) {
    std::vector<std::string> out;
    GeneralNamesPtr names(static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
    for (int i = 0; names && i < sk_GENERAL_NAME_num(names.get()); ++i) {
        const GENERAL_NAME* n = sk_GENERAL_NAME_value(names.get(), i);
        if (n->type != GEN_URI) continue;
        const ASN1_STRING* s = n->d.uniformResourceIdentifier;
        out.push_back(one_line(std::string_view(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                                static_cast<std::size_t>(ASN1_STRING_length(s))),
                               200));
    }
    return out;
}

std::string_view source_name(IdSource s) {
    switch (s) {
        case IdSource::SanUri: return "san_uri";
        case IdSource::SubjectCn: return "subject_cn";
        case IdSource::Header: return "header";
    }
    return "?";
}

// Verifies as the TLS front end does (client_ca_store.hpp), with the intermediates from the same
// file. Empty when it verifies, else OpenSSL's reason.
std::string verify(const Config& config, X509* leaf, STACK_OF(X509) * intermediates) {
    X509StorePtr store;
    try {
        store = make_client_ca_store(config.tls);
    } catch (const std::exception& e) {
        return e.what();
    }
    X509StoreCtxPtr ctx(X509_STORE_CTX_new());
    if (!ctx || X509_STORE_CTX_init(ctx.get(), store.get(), leaf, intermediates) != 1) return openssl_error();
    if (X509_verify_cert(ctx.get()) == 1) return {};
    const int err = X509_STORE_CTX_get_error(ctx.get());
    return std::string(X509_verify_cert_error_string(err)) + " (depth " +
           std::to_string(X509_STORE_CTX_get_error_depth(ctx.get())) + ")";
}

// One lookup through the real compliance core (token, Graph, decision), on a private event loop.
Verdict look_up(const Config& config, const std::string& id) {
    boost::asio::io_context io{1};
    CoreMetrics metrics;
    std::optional<Verdict> result;
    auto service = std::make_unique<ComplianceService>(io.get_executor(), config.intune, metrics);
    service->lookup(id, [&](Verdict v) { result = std::move(v); });
    while (!result && io.run_one() > 0) {
    }
    service.reset();
    io.restart();
    io.run_for(std::chrono::seconds(2));  // lets the service close its connections
    if (!result) {
        Verdict v;
        v.reason = "the lookup did not finish";
        return v;
    }
    return std::move(*result);
}

}  // namespace

int explain_certificate(const Config& config, const std::filesystem::path& certificate, std::ostream& out,
                        std::string_view url) {
    log::to_stderr();  // stdout is this report
    BioPtr bio(BIO_new_file(certificate.c_str(), "r"));
    X509Ptr leaf(bio ? PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr) : nullptr);
    if (!leaf) {
        out << "certificate: cannot read a PEM certificate from '" << certificate.string() << "': " << openssl_error()
            << '\n';
        return 2;
    }
    X509StackPtr chain(sk_X509_new_null());
    while (X509* more = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) sk_X509_push(chain.get(), more);
    ERR_clear_error();

    out << "certificate: " << certificate.string() << '\n'
        << "  subject:   " << name_text(X509_get_subject_name(leaf.get())) << '\n'
        << "  issuer:    " << name_text(X509_get_issuer_name(leaf.get())) << '\n'
        << "  valid:     " << time_text(X509_get0_notBefore(leaf.get())) << " to "
        << time_text(X509_get0_notAfter(leaf.get())) << '\n';
    for (const auto& uri : san_uris(leaf.get())) out << "  SAN URI:   " << uri << '\n';

    const auto found = find_device_id(leaf.get(), config.device_id);
    std::string sources;
    for (auto s : config.device_id.sources)
        if (s != IdSource::Header) sources += (sources.empty() ? "" : ", ") + std::string(source_name(s));
    if (found) {
        out << "device id:   " << found->id << " (from " << source_name(found->source) << ")\n";
    } else {
        out << "device id:   none: no source (" << sources << ") holds a GUID";
        if (std::find(config.device_id.sources.begin(), config.device_id.sources.end(), IdSource::SanUri) !=
            config.device_id.sources.end())
            out << " (san_uri wants " << config.device_id.san_uri_scheme << "://<GUID>)";
        out << '\n';
    }

    const std::string problem = verify(config, leaf.get(), chain.get());
    if (!problem.empty()) {
        out << "verifies:    no: " << problem << '\n'
            << "result:      the TLS handshake is refused; the request never reaches the gateway's decision\n";
        return 1;
    }
    out << "verifies:    yes, against " << config.tls.client_ca.string()
        << (config.tls.crl ? " and the CRL " + config.tls.crl->string() : std::string()) << '\n';

    Verdict verdict;
    if (!found) {
        verdict.outcome = Outcome::NoId;
        verdict.reason = "no valid device id in the client certificate";
    } else {
        verdict = look_up(config, found->id);
        out << "graph:       "
            << (verdict.compliance_state.empty() ? std::string("no complianceState")
                                                 : "complianceState " + printable_ascii(verdict.compliance_state, 64))
            << " (" << static_cast<long long>(verdict.graph_ms) << " ms)\n";
    }
    const OutcomeAction& action = config.action_for(verdict.outcome);
    out << "outcome:     " << to_string(verdict.outcome);
    if (!verdict.reason.empty()) out << " (" << one_line(verdict.reason, 300) << ")";
    out << '\n' << "action:      " << to_string(action.action);
    if (action.action == Action::Reject) out << ", status " << action.status;
    if (action.action == Action::Redirect) out << " to " << action.location;
    out << '\n';
    if (!url.empty()) return explain_policy(config, url, verdict, out) && action.action == Action::Forward ? 0 : 1;
    return action.action == Action::Forward ? 0 : 1;
}

}  // namespace ig
