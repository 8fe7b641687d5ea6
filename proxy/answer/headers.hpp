#pragma once
// THE one header-hygiene step: what a client sent that must not reach the upstream goes,
// then the gateway's own facts are set. Every value set here passes sanitize_header_value().
#include "core/config/config.hpp"
#include "core/text/text.hpp"
#include "core/verdict/compliance.hpp"

#include <boost/beast/http/fields.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ig {

// Precomputed once per Runtime from the config.
struct HeaderPolicy {
    std::vector<std::string> strip_names;  // names (as same_header_name() compares), besides is_gateway_header()
    std::string device_header;  // device_id.header as configured
    // Outcome headers with sanitised values, indexed by Outcome.
    std::array<std::vector<std::pair<std::string, std::string>>, outcome_count> outcome_headers;
    // Every header a forwarding answer of the authorization endpoint can carry under this config
    // (the fact headers that can occur and the union of the forwarding outcomes' headers).
    std::vector<std::string> answer_names;
};

HeaderPolicy make_header_policy(const Config& config);

// What the gateway tells the upstream about one request.
struct ForwardFacts {
    Outcome outcome = Outcome::Error;
    const std::string* device_id = nullptr;  // when one was found
    const Verdict* verdict = nullptr;  // when the core was asked
    std::string_view request_id;
    std::string_view client_address;
    std::string_view policy;  // X-Intune-Policy: the access policy that applied, when one did
    std::string_view policy_failed;  // X-Intune-Policy-Failed: report mode, the requirement that failed
    // The body framing the gateway relays: chunked, or this many bytes, or (neither) no body.
    bool chunked = false;
    std::optional<std::uint64_t> content_length;
};

// Removes Connection, the names it lists, Keep-Alive, Proxy-*, TE, Trailer, Upgrade (both directions).
// Transfer-Encoding, Content-Length and Host stay, whatever Connection lists.
// Allocator (here and below): boost::beast::http::fields' own, or ArenaAllocator
// (proxy/http/request_arena.hpp).
template <class Allocator>
void strip_hop_by_hop(boost::beast::http::basic_fields<Allocator>& fields);

// Removes hop-by-hop headers, the client's body framing (Transfer-Encoding, Content-Length) and
// everything a client must not be able to set. Names the gateway owns match case-insensitively
// with `_` and `-` taken as the same character (`X_Intune_Outcome` goes too).
template <class Allocator>
void strip_client_headers(boost::beast::http::basic_fields<Allocator>& fields, const HeaderPolicy& policy);

// Sets the body framing, the device-fact headers for the upstream and X-Forwarded-For/-Proto.
// Call after strip_client_headers().
template <class Allocator>
void set_forward_headers(boost::beast::http::basic_fields<Allocator>& fields, const HeaderPolicy& policy,
                         const ForwardFacts& facts);

// The same facts on an authorization endpoint's "allow" answer: every name of
// policy.answer_names is present, empty when it has no value (a proxy copying a header that is
// missing may pass its own placeholder text on); no X-Forwarded-* (the proxy sets those).
void set_answer_headers(boost::beast::http::fields& fields, const HeaderPolicy& policy, const ForwardFacts& facts);

}  // namespace ig
