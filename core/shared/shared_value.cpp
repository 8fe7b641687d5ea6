#include "core/shared/shared_value.hpp"

#include "core/identity/device_id.hpp"
#include "core/text/outside_json.hpp"
#include "core/text/text.hpp"
#include "core/verdict/decision.hpp"

#include <nlohmann/json.hpp>

#include <chrono>

namespace ig {
namespace {

using json = nlohmann::json;
constexpr std::int64_t max_clock_skew_ms = 5 * 60 * 1000;
constexpr std::int64_t max_ttl_ms = 7LL * 86400 * 1000;

bool fail(std::string* why, const char* what) {
    if (why) *why = what;
    return false;
}

const std::string* str(const json& doc, const char* key) {
    auto it = doc.find(key);
    return it != doc.end() && it->is_string() ? &it->get_ref<const std::string&>() : nullptr;
}

std::optional<std::int64_t> integer(const json& doc, const char* key) {
    auto it = doc.find(key);
    if (it == doc.end() || !it->is_number_integer()) return std::nullopt;
    return it->get<std::int64_t>();
}

bool is_json(const std::string& text, json::value_t type) {
    auto parsed = parse_outside_json(text, {.max_bytes = max_shared_value_bytes});
    return parsed.doc && parsed.doc->type() == type;
}

}  // namespace

std::int64_t unix_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string shared_verdict_key(std::string_view prefix, std::string_view id) {
    return std::string(prefix) + "v1:verdict:" + std::string(id);
}
std::string shared_lock_key(std::string_view prefix, std::string_view id) {
    return std::string(prefix) + "v1:lock:" + std::string(id);
}
std::string shared_error_key(std::string_view prefix, std::string_view id) {
    return std::string(prefix) + "v1:error:" + std::string(id);
}
std::string shared_sync_lease_key(std::string_view prefix) { return std::string(prefix) + "v1:sync-lease"; }
std::string shared_changes_lease_key(std::string_view prefix) { return std::string(prefix) + "v1:changes-lease"; }

std::string encode_shared_value(std::string_view device_id, const Verdict& v, std::int64_t expires_at_ms) {
    if (v.outcome == Outcome::Error || v.outcome == Outcome::NoId) return {};
    json doc{{"format", shared_value_format},
             {"v", shared_value_version},
             {"device_id", device_id},
             {"outcome", to_string(v.outcome)},
             {"compliance_state", v.compliance_state},
             {"reason", v.reason},
             {"fetched_at_ms", v.fetched_at_ms},
             {"expires_at_ms", expires_at_ms}};
    if (!v.device_json.empty()) doc["device"] = v.device_json;
    if (v.apps_json) doc["apps"] = *v.apps_json;
    if (v.facts.read) doc["facts"] = facts_to_json(v.facts);
    if (v.device_truncated) doc["device_truncated"] = *v.device_truncated;
    if (v.apps_truncated) doc["apps_truncated"] = *v.apps_truncated;
    if (!v.managed_device_id.empty()) doc["managed_device_id"] = v.managed_device_id;
    return doc.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::optional<SharedValue> decode_shared_value(std::string_view text, std::string_view device_id, std::int64_t now_ms,
                                               std::string* why, FactMask needed) {
    auto refuse = [&](const char* what) -> std::optional<SharedValue> {
        fail(why, what);
        return std::nullopt;
    };
    if (text.size() > max_shared_value_bytes) return refuse("too large");
    auto parsed = parse_outside_json(text, {.max_bytes = max_shared_value_bytes});
    if (!parsed.doc || !parsed.doc->is_object()) return refuse("not a JSON object");
    const json& doc = *parsed.doc;
    auto format = str(doc, "format");
    auto version = integer(doc, "v");
    if (!format || *format != shared_value_format || !version || *version != shared_value_version)
        return refuse("not our format or version");
    auto id = str(doc, "device_id");
    if (!id || *id != device_id) return refuse("names another device");
    auto outcome_name = str(doc, "outcome");
    auto outcome = outcome_name ? outcome_from_name(*outcome_name) : std::nullopt;
    if (!outcome || *outcome == Outcome::Error || *outcome == Outcome::NoId) return refuse("no usable outcome");
    auto state = str(doc, "compliance_state");
    if (!state || state->size() > 64 || printable_ascii(*state, 64) != *state) return refuse("bad compliance_state");
    // The outcome must be the one verdict_for_device() gives for that state (an empty state: device not found).
    if (!state->empty()) {
        auto expected = outcome_for_state(*state);
        if (!expected) expected = Outcome::StatusUnknown;
        if (*expected != *outcome) return refuse("outcome does not match compliance_state");
    }
    auto fetched = integer(doc, "fetched_at_ms");
    auto expires = integer(doc, "expires_at_ms");
    if (!fetched || !expires || *fetched <= 0 || *fetched > now_ms + max_clock_skew_ms || *expires < *fetched ||
        *expires - *fetched > max_ttl_ms)
        return refuse("bad times");
    if (*expires <= now_ms) return refuse("expired");

    SharedValue out;
    out.expires_at_ms = *expires;
    Verdict& v = out.verdict;
    v.outcome = *outcome;
    v.compliance_state = *state;
    if (auto r = str(doc, "reason")) v.reason = one_line(*r, 300);
    if (doc.contains("device")) {
        auto d = str(doc, "device");
        if (!d || !is_json(*d, json::value_t::object)) return refuse("bad device properties");
        v.device_json = *d;
    }
    if (doc.contains("apps")) {
        auto a = str(doc, "apps");
        if (!a || !is_json(*a, json::value_t::array)) return refuse("bad installed apps");
        v.apps_json = *a;
    }
    for (auto [key, field] :
         {std::pair{"device_truncated", &v.device_truncated}, std::pair{"apps_truncated", &v.apps_truncated}}) {
        if (!doc.contains(key)) continue;
        auto n = integer(doc, key);
        if (!n || *n < 0 || *n > 1000000) return refuse("bad truncation count");
        *field = static_cast<std::size_t>(*n);
    }
    if (doc.contains("managed_device_id")) {
        auto m = str(doc, "managed_device_id");
        auto guid = m ? normalize_guid(*m) : std::nullopt;
        if (!guid || *guid != *m) return refuse("bad managed_device_id");
        v.managed_device_id = *guid;
    }
    if (auto f = doc.find("facts"); f != doc.end()) {
        auto facts = facts_from_json(*f);
        if (!facts) return refuse("bad device facts");
        v.facts = std::move(*facts);
    }
    if (!v.facts.has(needed)) return refuse("lacks device facts the policies need");
    v.source = VerdictSource::Shared;
    v.fetched_at_ms = *fetched;
    return out;
}

}  // namespace ig
