#pragma once
// How a verdict is stored in the shared cache: a versioned JSON object that names its device.
// What is read back is outside input: a value that is not this format, names another device, is
// out of bounds or has expired is refused (never turned into a verdict).
#include "core/verdict/verdict.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ig {

inline constexpr std::string_view shared_value_format = "intune-gate/verdict";
// 2: device facts for access policies ("facts") and the Intune id of a device found by its Entra
// ID ("managed_device_id"); a value of another version is not read.
inline constexpr int shared_value_version = 2;
inline constexpr std::size_t max_shared_value_bytes = 1 << 20;

struct SharedValue {
    Verdict verdict;  // source Shared, fetched_at_ms from the value
    std::int64_t expires_at_ms = 0;  // Unix ms
};

// Keys: <prefix>v1:verdict:<id>, <prefix>v1:lock:<id>, <prefix>v1:error:<id>, <prefix>v1:sync-lease,
// <prefix>v1:changes-lease.
std::string shared_verdict_key(std::string_view prefix, std::string_view device_id);
std::string shared_lock_key(std::string_view prefix, std::string_view device_id);
std::string shared_error_key(std::string_view prefix, std::string_view device_id);  // a lock holder's Error
std::string shared_sync_lease_key(std::string_view prefix);
std::string shared_changes_lease_key(std::string_view prefix);  // <prefix>v1:changes-lease

// An Error verdict is never stored: encode() returns an empty string for it.
std::string encode_shared_value(std::string_view device_id, const Verdict& v, std::int64_t expires_at_ms);

// nullopt (and `why` says what was wrong) unless `text` is our format for `device_id`, consistent,
// and not expired at now_ms; also when it lacks a device fact of `needed` (read from Graph again).
std::optional<SharedValue> decode_shared_value(std::string_view text, std::string_view device_id, std::int64_t now_ms,
                                               std::string* why = nullptr, FactMask needed = 0);

// Unix time in milliseconds.
std::int64_t unix_ms();

}  // namespace ig
