#include "core/policy/facts.hpp"

#include "core/text/text.hpp"

#include <nlohmann/json.hpp>

#include <array>
#include <ctime>

namespace ig {
namespace {

using json = nlohmann::json;
constexpr std::size_t max_fact_len = 64;

std::string text_fact(const json& device, const char* key) {
    auto it = device.find(key);
    if (it == device.end() || !it->is_string()) return {};
    return printable_ascii(it->get_ref<const std::string&>(), max_fact_len);
}

bool digits(std::string_view s) {
    for (char c : s)
        if (c < '0' || c > '9') return false;
    return !s.empty();
}

int number(std::string_view s) {
    int n = 0;
    for (char c : s) n = n * 10 + (c - '0');
    return n;
}

// Days from 1970-01-01 to y-m-d (proleptic Gregorian).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

}  // namespace

std::vector<std::string_view> fact_properties(FactMask mask) {
    std::vector<std::string_view> out;
    if (mask & fact_os) out.insert(out.end(), {"operatingSystem", "osVersion"});
    if (mask & fact_encrypted) out.push_back("isEncrypted");
    if (mask & fact_jailbroken) out.push_back("jailBroken");
    if (mask & fact_owner) out.push_back("managedDeviceOwnerType");
    if (mask & fact_last_sync) out.push_back("lastSyncDateTime");
    return out;
}

DeviceFacts read_device_facts(const json& device, FactMask mask) {
    DeviceFacts f;
    f.read = mask & all_facts;
    if (!device.is_object()) return f;
    if (mask & fact_os) {
        f.operating_system = text_fact(device, "operatingSystem");
        f.os_version = text_fact(device, "osVersion");
    }
    if (mask & fact_encrypted)
        if (auto it = device.find("isEncrypted"); it != device.end() && it->is_boolean()) f.encrypted = it->get<bool>();
    if (mask & fact_jailbroken) f.jailbroken = text_fact(device, "jailBroken");
    if (mask & fact_owner) f.owner = text_fact(device, "managedDeviceOwnerType");
    if (mask & fact_last_sync) f.last_sync_ms = parse_graph_time(text_fact(device, "lastSyncDateTime"));
    return f;
}

std::optional<std::int64_t> parse_graph_time(std::string_view t) {
    // YYYY-MM-DDTHH:MM:SS, then .fraction, then Z or ±HH:MM
    if (t.size() < 20 || t[4] != '-' || t[7] != '-' || (t[10] != 'T' && t[10] != 't') || t[13] != ':' || t[16] != ':')
        return std::nullopt;
    const std::array<std::string_view, 6> parts{t.substr(0, 4),  t.substr(5, 2),  t.substr(8, 2),
                                                t.substr(11, 2), t.substr(14, 2), t.substr(17, 2)};
    for (auto p : parts)
        if (!digits(p)) return std::nullopt;
    const int year = number(parts[0]), month = number(parts[1]), day = number(parts[2]);
    const int hour = number(parts[3]), minute = number(parts[4]), second = number(parts[5]);
    if (year < 1970 || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60)
        return std::nullopt;  // year 1 is Intune's "never"
    std::string_view rest = t.substr(19);
    std::int64_t ms = 0;
    if (!rest.empty() && rest.front() == '.') {
        std::size_t n = 1;
        while (n < rest.size() && rest[n] >= '0' && rest[n] <= '9') ++n;
        if (n == 1) return std::nullopt;
        for (std::size_t i = 1; i < 4; ++i) ms = ms * 10 + (i < n ? rest[i] - '0' : 0);
        rest.remove_prefix(n);
    }
    std::int64_t offset_s = 0;
    if (rest == "Z" || rest == "z") {
    } else if (rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':' && digits(rest.substr(1, 2)) &&
               digits(rest.substr(4, 2))) {
        offset_s = (number(rest.substr(1, 2)) * 3600 + number(rest.substr(4, 2)) * 60) * (rest[0] == '-' ? -1 : 1);
    } else {
        return std::nullopt;
    }
    const std::int64_t days = days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
    const std::int64_t secs = days * 86400 + hour * 3600 + minute * 60 + second - offset_s;
    return secs * 1000 + ms;
}

json facts_to_json(const DeviceFacts& f) {
    json j{{"read", f.read}};
    if (f.read & fact_os) {
        j["operating_system"] = f.operating_system;
        j["os_version"] = f.os_version;
    }
    if (f.encrypted) j["encrypted"] = *f.encrypted;
    if (f.read & fact_jailbroken) j["jailbroken"] = f.jailbroken;
    if (f.read & fact_owner) j["owner"] = f.owner;
    if (f.last_sync_ms) j["last_sync_ms"] = *f.last_sync_ms;
    return j;
}

std::optional<DeviceFacts> facts_from_json(const json& j) {
    if (!j.is_object()) return std::nullopt;
    auto read = j.find("read");
    if (read == j.end() || !read->is_number_unsigned() || read->get<std::uint64_t>() > all_facts) return std::nullopt;
    DeviceFacts f;
    f.read = read->get<FactMask>();
    for (auto [key, out] : {std::pair{"operating_system", &f.operating_system}, std::pair{"os_version", &f.os_version},
                            std::pair{"jailbroken", &f.jailbroken}, std::pair{"owner", &f.owner}}) {
        auto it = j.find(key);
        if (it == j.end()) continue;
        if (!it->is_string()) return std::nullopt;
        const auto& s = it->get_ref<const std::string&>();
        if (s.size() > max_fact_len || printable_ascii(s, max_fact_len) != s) return std::nullopt;
        *out = s;
    }
    if (auto it = j.find("encrypted"); it != j.end()) {
        if (!it->is_boolean()) return std::nullopt;
        f.encrypted = it->get<bool>();
    }
    if (auto it = j.find("last_sync_ms"); it != j.end()) {
        if (!it->is_number_integer()) return std::nullopt;
        f.last_sync_ms = it->get<std::int64_t>();
    }
    return f;
}

json facts_for_people(const DeviceFacts& f) {
    json j = json::object();
    auto text = [](const std::string& s) { return s.empty() ? json(nullptr) : json(s); };
    if (f.read & fact_os) {
        j["operating_system"] = text(f.operating_system);
        j["os_version"] = text(f.os_version);
    }
    if (f.read & fact_encrypted) j["encrypted"] = f.encrypted ? json(*f.encrypted) : json(nullptr);
    if (f.read & fact_jailbroken) j["jailbroken"] = text(f.jailbroken);
    if (f.read & fact_owner) j["owner"] = text(f.owner);
    if (f.read & fact_last_sync) {
        j["last_sync"] = nullptr;
        if (f.last_sync_ms) {
            const std::time_t t = static_cast<std::time_t>(*f.last_sync_ms / 1000);
            std::tm tm{};
            gmtime_r(&t, &tm);
            char buf[32];
            if (std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm)) j["last_sync"] = buf;
        }
    }
    return j;
}

}  // namespace ig
