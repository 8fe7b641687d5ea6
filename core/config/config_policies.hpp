#pragma once
// The "policies" section of the config (README: Access policies): read and checked, every problem
// named by its JSON pointer.
#include "core/config/config.hpp"
#include "core/config/json_walk.hpp"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace ig {

// Reads an action object ({"action": ...} as in "outcomes"); nullopt after reporting its problems.
using ActionReader = std::function<std::optional<OutcomeAction>(const nlohmann::json&, const std::string& ptr)>;

// Reads /policies into out (nothing when absent or null); `deny` reads each policy's deny action.
void read_policies(JsonWalk& walk, const nlohmann::json* v, const ActionReader& deny, std::vector<PolicyConfig>& out);

// The facts the policies need from Graph (intune.facts).
FactMask facts_needed(const std::vector<PolicyConfig>& policies);

}  // namespace ig
