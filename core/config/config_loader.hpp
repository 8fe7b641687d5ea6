#pragma once
// The configuration loader's walk (docs/configuration.md), internal to core/config/: one member per
// section of the document, defined by section in config_*.cpp; config.cpp holds the root and the
// public entry points.
#include "core/config/config.hpp"
#include "core/config/json_walk.hpp"

#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace ig::config_load {

namespace fs = std::filesystem;
using json = nlohmann::json;

// RFC 7230 token (header field names).
bool is_token(std::string_view s);
// RFC 7230 field-value: visible characters, space, tab, obs-text; never CR, LF, NUL.
bool is_field_value(std::string_view s);
bool is_ip_address(std::string_view s);

class Loader : public JsonWalk {
public:
    using JsonWalk::JsonWalk;

    std::optional<Secret> secret(const JsonObject& o, std::string_view key);

    void listen(const json* v, const std::string& ptr, std::string& address, std::uint16_t& port);
    void address_port(const JsonObject& o, std::string& address, std::uint16_t& port);
    void tls(const json* v, TlsConfig& out, bool front_end);
    void authz(const json* v, AuthzConfig& out);
    void device_id(const json* v, DeviceIdConfig& out);
    void intune(const json* v, IntuneConfig& out);
    void upstream(const json* v, UpstreamConfig& out);
    void outcomes(const json* v, const std::string& device_id_header, std::array<OutcomeAction, outcome_count>& out);
    void limits(const json* v, LimitsConfig& out);
    void admin(const json* v, Config& out);
    void pages(const json* v, Config& out);
    void policies(const json* v, Config& out);
    void shared_cache(const json* v, const std::string& ptr, SharedCacheConfig& out);
    void root(const json& doc, Config& out);

private:
    // The object that holds the grant's keys, and the grant's name for messages.
    struct Grant {
        const JsonObject& o;
        std::string mode;
    };
    void application(const JsonObject& o, IntuneConnection& out);
    void grant(const JsonObject& o, IntuneConnection& out);
    bool required(const Grant& g, std::string_view key);
    void unused(const Grant& g, std::string_view key);
    void certificate_grant(const Grant& g, IntuneConnection& out);
    void endpoints(const JsonObject& o, IntuneConfig& out);
    void verdict_rules(const JsonObject& o, VerdictRules& out);
    void device_properties(const json& p, const std::string& ptr, VerdictRules& out);
    void certificate_and_key(const std::optional<File>& cert, const std::optional<File>& key, fs::path& cert_out,
                             fs::path& key_out);
    std::optional<Cidr> cidr(const json& v, const std::string& ptr);
    std::optional<OutcomeAction> outcome(const json& v, const std::string& ptr, const std::string& device_id_header);
    void forward_action(const JsonObject& o, const std::string& device_id_header, OutcomeAction& out);
    void reject_action(const JsonObject& o, OutcomeAction& out);
    void redirect_action(const JsonObject& o, OutcomeAction& out);
};

}  // namespace ig::config_load
