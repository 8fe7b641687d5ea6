#pragma once
// The one place that turns what Graph (or the lack of it) said into an outcome (docs/configuration.md: `outcomes`).
#include "core/config/config.hpp"
#include "core/graph/graph_reply.hpp"
#include "core/verdict/verdict.hpp"

#include <optional>
#include <string_view>

namespace ig {

// complianceState (case-insensitive) → outcome; nullopt for a value this build does not know.
std::optional<Outcome> outcome_for_state(std::string_view compliance_state);

// Outcome, compliance_state (sanitised), reason and device_json; apps are added by the caller.
// asked_id: the device the read asked for (empty: not checked, e.g. a page of the bulk sync); a
// device body whose "id" is missing or names another device is Error (fail closed).
Verdict decide(const GraphReply& reply, const IntuneConfig& config, std::string_view asked_id = {});

// Keeps a verdict's device properties and installed apps within this config's header caps
// (intune.max_device_header_bytes, max_apps_header_bytes), as decide() does for Graph's answer:
// for a verdict from elsewhere (the shared cache, written under another config or by anyone with
// access to Redis). A value that is not the JSON it should be is dropped.
void cap_verdict_facts(Verdict& v, const IntuneConfig& config);

}  // namespace ig
