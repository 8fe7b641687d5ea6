#pragma once
// intune-gate --explain CERT --config FILE --url URL: the access policy that applies to the URL and
// every requirement's result for the device (README: Access policies, "Seeing it").
#include "core/config/config.hpp"
#include "core/verdict/verdict.hpp"

#include <nlohmann/json.hpp>

#include <ostream>
#include <string_view>

namespace ig {

// Prints the policy part of the report; true when a request to `url` would be forwarded (no
// policy, allow or report), false when the policy denies it or the URL is not accepted.
bool explain_policy(const Config& config, std::string_view url, const Verdict& verdict, std::ostream& out);

// The help desk's view of the same (GET /devices/{id}?url=): {name, result, requirement, detail},
// null when no policy applies, {"error": ...} when the URL is not usable or not accepted.
nlohmann::json policy_for_url(const Config& config, std::string_view url, const Verdict& verdict);

}  // namespace ig
