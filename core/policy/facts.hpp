#pragma once
// The device facts policies need, read from Graph's v1.0 managedDevice (README: Access policies,
// "Requirements"; samples in tests/fixtures/graph/). Plain data: they travel in the verdict, the
// local and the shared cache and the bulk sync like the rest of it.
#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ig {

// Which facts were asked of Graph (a bit each); a verdict lacking one a policy needs is read again.
enum FactBit : unsigned {
    fact_os = 1,  // operatingSystem and osVersion
    fact_encrypted = 2,  // isEncrypted
    fact_jailbroken = 4,  // jailBroken
    fact_owner = 8,  // managedDeviceOwnerType
    fact_last_sync = 16,  // lastSyncDateTime
};
using FactMask = unsigned;
inline constexpr FactMask all_facts = 31;

struct DeviceFacts {
    FactMask read = 0;  // asked of Graph; a fact asked for may still be missing below
    std::string operating_system;  // printable ASCII, "" when Graph gave none
    std::string os_version;
    std::optional<bool> encrypted;
    std::string jailbroken;  // "True", "False", "Unknown" as Graph wrote it
    std::string owner;  // "company", "personal", "unknown"
    std::optional<std::int64_t> last_sync_ms;  // Unix ms; nullopt when never (0001-01-01) or not given

    bool has(FactMask m) const { return (read & m) == m; }
    bool operator==(const DeviceFacts&) const = default;
};

// The Graph property names to $select for the mask.
std::vector<std::string_view> fact_properties(FactMask mask);

// The facts of the mask from a managedDevice JSON object (absent, null or ill-typed: left empty).
DeviceFacts read_device_facts(const nlohmann::json& device, FactMask mask);

// An ISO 8601 date-time as Graph writes it ("2024-05-01T10:00:00Z", fractions, "+02:00") in Unix
// ms; nullopt for Intune's "never" (year 1) and anything else.
std::optional<std::int64_t> parse_graph_time(std::string_view text);

// The facts as JSON (help desk and shared cache), and back: the inverse for what to_json() wrote.
nlohmann::json facts_to_json(const DeviceFacts& f);
std::optional<DeviceFacts> facts_from_json(const nlohmann::json& j);

// The help desk's view (GET /devices/{id}): operating_system, os_version, encrypted, jailbroken,
// owner, last_sync (ISO 8601 UTC, null for never), each only when it was asked of Graph.
nlohmann::json facts_for_people(const DeviceFacts& f);

}  // namespace ig
