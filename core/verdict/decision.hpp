#pragma once
// The one place that turns what Graph (or the lack of it) said into an outcome (docs/configuration.md: `outcomes`).
#include "core/config/config.hpp"
#include "core/graph/graph_reply.hpp"
#include "core/verdict/verdict.hpp"

#include <nlohmann/json_fwd.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace ig {

// complianceState (case-insensitive) → outcome; nullopt for a value this build does not know.
std::optional<Outcome> outcome_for_state(std::string_view compliance_state);

// Outcome Error with this reason (one line, capped).
Verdict error_verdict(std::string reason);

// A read of one device (GET managedDevices/{id}, or its failure) → outcome, compliance_state
// (sanitised), reason and device_json; apps are added by the caller. asked_id: the device the read
// asked for (empty: not checked); a device body whose "id" is missing or names another device is
// Error (fail closed).
Verdict verdict_for_reply(const GraphReply& reply, const IntuneConfig& config, std::string_view asked_id = {});

// The same for a managedDevice object as Graph gives it (one item of the bulk sync's list, where
// asked_id stays empty, or the body of a single read): its complianceState and saved properties.
Verdict verdict_for_device(const nlohmann::json& device, const IntuneConfig& config, std::string_view asked_id = {});

// Keeps a verdict's device properties and installed apps within this config's header caps
// (intune.max_device_header_bytes, max_apps_header_bytes), as verdict_for_device() does for Graph's
// answer: for a verdict from elsewhere (the shared cache, written under another config or by anyone
// with access to Redis). A value that is not the JSON it should be is dropped.
void cap_verdict_facts(Verdict& v, const IntuneConfig& config);

}  // namespace ig
