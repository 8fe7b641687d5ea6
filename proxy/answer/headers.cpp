#include "proxy/answer/headers.hpp"

#include "proxy/http/request_arena.hpp"

#include "core/text/base64url.hpp"
#include "core/text/header_cap.hpp"
#include "core/text/header_names.hpp"

#include <boost/beast/http/rfc7230.hpp>
#include <boost/url/grammar/ci_string.hpp>

#include <algorithm>

namespace ig {
namespace http = boost::beast::http;
namespace {

using boost::urls::grammar::ci_is_equal;

constexpr std::size_t max_reason_bytes = 300;

using boost::urls::grammar::ci_less;

// The names listed by every Connection header (they are hop-by-hop too), sorted without case: a
// header may list thousands and have thousands of fields, each looked up here (listed_sorted).
// Copies: the Connection fields are erased while the names are still in use.
template <class Fields>
std::vector<std::string> connection_tokens(const Fields& fields) {
    std::vector<std::string> names;
    for (auto it = fields.find(http::field::connection); it != fields.end() && it->name() == http::field::connection;
         ++it)
        for (auto token : http::token_list{it->value()}) names.emplace_back(token);
    std::sort(names.begin(), names.end(), ci_less{});
    return names;
}

bool listed_sorted(const std::vector<std::string>& names, std::string_view name) {
    return std::binary_search(names.begin(), names.end(), name, ci_less{});
}

template <class Fields, class Predicate>
void erase_if(Fields& fields, Predicate drop) {
    for (auto it = fields.begin(); it != fields.end();) {
        if (drop(it->name_string()))
            it = fields.erase(it);
        else
            ++it;
    }
}

bool listed(const std::vector<std::string>& names, std::string_view name) {
    return std::any_of(names.begin(), names.end(), [&](const std::string& n) { return ci_is_equal(n, name); });
}

bool listed_normalised(const std::vector<std::string>& names, std::string_view name) {
    return std::any_of(names.begin(), names.end(), [&](const std::string& n) { return same_header_name(n, name); });
}

// True when sanitize_header_value() would return `value` unchanged.
bool is_clean(std::string_view value) {
    for (const char ch : value) {
        const auto c = static_cast<unsigned char>(ch);
        if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
    }
    return value.empty() ||
           (value.front() != ' ' && value.front() != '\t' && value.back() != ' ' && value.back() != '\t');
}

template <class Fields>
void set_clean(Fields& fields, std::string_view name, std::string_view value) {
    if (name.empty()) return;
    // The common case (already clean) is set without an intermediate copy.
    if (is_clean(value))
        fields.set(name, value);
    else
        fields.set(name, sanitize_header_value(value));
}

}  // namespace

HeaderPolicy make_header_policy(const Config& config) {
    HeaderPolicy policy;
    policy.device_header = sanitize_header_value(config.device_id.header);
    // Besides the gateway's own names (is_gateway_header): the device header and the outcome headers.
    if (!policy.device_header.empty()) policy.strip_names.push_back(policy.device_header);
    for (std::size_t i = 0; i < outcome_count; ++i) {
        for (const auto& [name, value] : config.outcomes[i].headers) {
            const auto clean_name = sanitize_header_value(name);
            if (clean_name.empty()) continue;
            if (!listed_normalised(policy.strip_names, clean_name)) policy.strip_names.push_back(clean_name);
            policy.outcome_headers[i].emplace_back(clean_name, sanitize_header_value(value));
        }
    }
    auto answer = [&](std::string_view name) {
        if (!name.empty() && !listed(policy.answer_names, name)) policy.answer_names.emplace_back(name);
    };
    // Every name the gateway can emit, whatever this config makes of it: a proxy that copies
    // only some of them onto the request must be able to overwrite every one a client may send
    // (conf/plugin/, checked by unit.proxy.test_plugin_confs).
    answer(policy.device_header);
    for (const auto name : own_headers) answer(name);
    answer(request_id_header);
    if (!config.policies.empty()) {
        answer(policy_header);
        answer(policy_failed_header);
    }
    for (std::size_t i = 0; i < outcome_count; ++i)
        if (config.outcomes[i].action == Action::Forward)
            for (const auto& [name, value] : policy.outcome_headers[i]) answer(name);
    return policy;
}

template <class Allocator>
void strip_hop_by_hop(http::basic_fields<Allocator>& fields) {
    const auto listed_names = connection_tokens(fields);
    erase_if(fields, [&](std::string_view name) {
        // Never let a Connection token remove the body framing (that would desynchronise the relay)
        // or Host (the upstream would see a request without one).
        if (is_framing_header(name)) return false;
        return is_hop_by_hop(name) || listed_sorted(listed_names, name);
    });
}

template <class Allocator>
void strip_client_headers(http::basic_fields<Allocator>& fields, const HeaderPolicy& policy) {
    strip_hop_by_hop(fields);
    erase_if(fields, [&](std::string_view name) {
        // The body framing goes too: the gateway writes its own (set_forward_headers).
        return ci_is_equal(name, "transfer-encoding") || ci_is_equal(name, "content-length") ||
               is_gateway_header(name) || listed_normalised(policy.strip_names, name);
    });
}

namespace {

template <class Fields>
void set_fact_headers(Fields& fields, const HeaderPolicy& policy, const ForwardFacts& facts) {
    if (facts.device_id && !facts.device_id->empty()) set_clean(fields, policy.device_header, *facts.device_id);
    set_clean(fields, outcome_header, to_string(facts.outcome));
    if (facts.verdict) {
        const Verdict& v = *facts.verdict;
        if (!v.compliance_state.empty()) set_clean(fields, compliance_state_header, v.compliance_state);
        if (!v.device_json.empty()) set_clean(fields, device_header, base64url_encode(v.device_json));
        if (!v.device_json.empty() && v.device_truncated)
            fields.set(device_truncated_header, std::to_string(*v.device_truncated));
        if (v.apps_json) set_clean(fields, apps_header, base64url_encode(*v.apps_json));
        if (v.apps_json && v.apps_truncated) fields.set(apps_truncated_header, std::to_string(*v.apps_truncated));
        // Graph failed and an older answer stands in (stale-if-error): its age in whole seconds.
        if (v.stale_age_s) fields.set(stale_header, std::to_string(*v.stale_age_s));
        // Found by its Entra ID device ID: Intune's id for the same device (README: `device_id.lookup`).
        if (!v.managed_device_id.empty()) set_clean(fields, managed_device_id_header, v.managed_device_id);
        if (facts.outcome == Outcome::Error)
            set_clean(fields, error_header,
                      v.reason.empty() ? std::string_view("compliance check failed")
                                       : std::string_view(v.reason).substr(0, max_reason_bytes));
    }
    set_clean(fields, request_id_header, facts.request_id);
    if (!facts.policy.empty()) set_clean(fields, policy_header, facts.policy);
    if (!facts.policy_failed.empty()) set_clean(fields, policy_failed_header, facts.policy_failed);
    for (const auto& [name, value] : policy.outcome_headers[static_cast<std::size_t>(facts.outcome)])
        fields.set(name, value);
}

}  // namespace

template <class Allocator>
void set_forward_headers(http::basic_fields<Allocator>& fields, const HeaderPolicy& policy, const ForwardFacts& facts) {
    if (facts.chunked)
        fields.set(http::field::transfer_encoding, "chunked");
    else if (facts.content_length)
        fields.set(http::field::content_length, std::to_string(*facts.content_length));
    set_fact_headers(fields, policy, facts);
    set_clean(fields, "X-Forwarded-For", facts.client_address);
    fields.set("X-Forwarded-Proto", "https");
}

void set_answer_headers(http::fields& fields, const HeaderPolicy& policy, const ForwardFacts& facts) {
    for (const auto& name : policy.answer_names) fields.set(name, "");
    set_fact_headers(fields, policy, facts);
}

template void strip_hop_by_hop(http::fields&);
template void strip_hop_by_hop(ArenaFields&);
template void strip_client_headers(http::fields&, const HeaderPolicy&);
template void strip_client_headers(ArenaFields&, const HeaderPolicy&);
template void set_forward_headers(http::fields&, const HeaderPolicy&, const ForwardFacts&);
template void set_forward_headers(ArenaFields&, const HeaderPolicy&, const ForwardFacts&);

}  // namespace ig
