// A verdict read back from the shared cache (Redis): bytes anyone with access to Redis may have
// written. Whatever decodes must be a verdict the gateway could have written itself: re-encoding it
// and decoding again gives the same verdict.
#include "core/shared/shared_value.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace {
constexpr std::string_view device = "8a3c2e1f-5b6d-4e7f-9a0b-1c2d3e4f5a6b";
constexpr std::int64_t now_ms = 1'780'000'000'000;

bool same(const ig::Verdict& a, const ig::Verdict& b) {
    return a.outcome == b.outcome && a.compliance_state == b.compliance_state && a.reason == b.reason &&
           a.device_json == b.device_json && a.apps_json == b.apps_json && a.device_truncated == b.device_truncated &&
           a.apps_truncated == b.apps_truncated && a.fetched_at_ms == b.fetched_at_ms;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto value = ig::decode_shared_value(text, device, now_ms);
    if (!value) return 0;
    const auto& v = value->verdict;
    if (v.outcome == ig::Outcome::Error || v.outcome == ig::Outcome::NoId) std::abort();
    if (value->expires_at_ms <= now_ms) std::abort();
    auto again = ig::decode_shared_value(ig::encode_shared_value(device, v, value->expires_at_ms), device, now_ms);
    if (!again || !same(again->verdict, v) || again->expires_at_ms != value->expires_at_ms) std::abort();
    return 0;
}
