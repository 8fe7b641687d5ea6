#include "core/identity/device_id.hpp"

#include "core/tls/openssl_ptr.hpp"

#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <memory>

namespace ig {
namespace {

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

std::string_view as_view(const ASN1_STRING* s) {
    if (!s) return {};
    const int len = ASN1_STRING_length(s);
    if (len <= 0) return {};
    return {reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)), static_cast<std::size_t>(len)};
}

// The ID of the SAN URIs under `scheme`. Vendors put the Intune or the Entra ID device ID under the
// same scheme, so two different IDs there cannot be told apart: `ambiguous`, and no ID from the
// certificate at all (docs/configuration.md: `device_id.lookup`).
std::optional<std::string> from_san_uri(X509* cert, std::string_view scheme, bool& ambiguous) {
    GeneralNamesPtr names(static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
    if (!names) return std::nullopt;
    std::optional<std::string> found;
    for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
        const GENERAL_NAME* name = sk_GENERAL_NAME_value(names.get(), i);
        if (name->type != GEN_URI) continue;
        const std::string_view uri = as_view(name->d.uniformResourceIdentifier);
        const auto sep = uri.find("://");
        if (sep == std::string_view::npos || !iequals(uri.substr(0, sep), scheme)) continue;
        auto id = normalize_guid(uri.substr(sep + 3));
        if (!id) continue;
        if (found && *found != *id) {
            ambiguous = true;
            return std::nullopt;
        }
        found = std::move(id);
    }
    return found;
}

std::optional<std::string> from_subject_cn(X509* cert) {
    const X509_NAME* subject = X509_get_subject_name(cert);
    if (!subject) return std::nullopt;
    // Several CNs are ambiguous: accept only the last (most specific) one, like most TLS stacks.
    const int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
    if (index < 0) return std::nullopt;
    int last = index;
    for (int next = index; (next = X509_NAME_get_index_by_NID(subject, NID_commonName, next)) >= 0;) last = next;
    const X509_NAME_ENTRY* entry = X509_NAME_get_entry(subject, last);
    return normalize_guid(as_view(X509_NAME_ENTRY_get_data(entry)));
}

}  // namespace

std::optional<std::string> normalize_guid(std::string_view text) {
    static constexpr std::size_t groups[] = {8, 4, 4, 4, 12};
    if (text.size() != 36) return std::nullopt;
    std::string out;
    out.reserve(36);
    std::size_t pos = 0;
    for (std::size_t g = 0; g < 5; ++g) {
        if (g > 0) {
            if (text[pos] != '-') return std::nullopt;
            out.push_back('-');
            ++pos;
        }
        for (std::size_t i = 0; i < groups[g]; ++i, ++pos) {
            const auto c = static_cast<unsigned char>(text[pos]);
            if (!std::isxdigit(c)) return std::nullopt;
            out.push_back(static_cast<char>(std::tolower(c)));
        }
    }
    return out;
}

std::optional<FoundDeviceId> find_device_id(X509* cert, const DeviceIdConfig& config) {
    if (!cert) return std::nullopt;
    for (const IdSource source : config.sources) {
        std::optional<std::string> id;
        bool ambiguous = false;
        if (source == IdSource::SanUri)
            id = from_san_uri(cert, config.san_uri_scheme, ambiguous);
        else if (source == IdSource::SubjectCn)
            id = from_subject_cn(cert);
        if (ambiguous) return std::nullopt;  // not the next source either: the certificate is refused
        if (id) return FoundDeviceId{std::move(*id), source};
    }
    return std::nullopt;
}

std::optional<std::string> device_id_from_certificate(X509* cert, const DeviceIdConfig& config) {
    auto found = find_device_id(cert, config);
    if (!found) return std::nullopt;
    return std::move(found->id);
}

bool header_trusted_from(const DeviceIdConfig& config, const boost::asio::ip::address& peer) {
    return peer_in(peer, config.trusted_peers);
}

bool header_claim_ambiguous(const DeviceIdConfig& config, const HeaderClaim& header) {
    const bool header_source =
        std::find(config.sources.begin(), config.sources.end(), IdSource::Header) != config.sources.end();
    return header_source && header.peer_trusted && header.count > 1;
}

std::optional<std::string> request_device_id(const DeviceIdConfig& config, const std::optional<std::string>& cert_id,
                                             const HeaderClaim& header) {
    for (const IdSource source : config.sources) {
        if (source != IdSource::Header) {
            if (cert_id) return cert_id;
            continue;
        }
        if (!header.peer_trusted) continue;
        if (header.count > 1) return std::nullopt;  // ambiguous: no source decides (header_claim_ambiguous)
        if (!header.value) continue;
        if (auto id = normalize_guid(*header.value)) return id;
    }
    return std::nullopt;
}

}  // namespace ig
