#pragma once
// The eight outcomes and the three actions (docs/configuration.md: `outcomes`).
#include <array>
#include <cstddef>
#include <optional>
#include <string_view>

namespace ig {

enum class Outcome { Compliant, NotCompliant, InGracePeriod, ConfigManager, Conflict, NoId, StatusUnknown, Error };
inline constexpr std::size_t outcome_count = 8;

inline constexpr std::array<std::string_view, outcome_count> outcome_names{
    "Compliant", "NotCompliant", "InGracePeriod", "ConfigManager", "Conflict", "NoId", "StatusUnknown", "Error"};

constexpr std::string_view to_string(Outcome o) { return outcome_names[static_cast<std::size_t>(o)]; }

// Exact, case-sensitive match on the outcome name as written in the config file.
constexpr std::optional<Outcome> outcome_from_name(std::string_view name) {
    for (std::size_t i = 0; i < outcome_count; ++i)
        if (outcome_names[i] == name) return static_cast<Outcome>(i);
    return std::nullopt;
}

enum class Action { Forward, Reject, Redirect };
inline constexpr std::size_t action_count = 3;
inline constexpr std::array<std::string_view, action_count> action_names{"forward", "reject", "redirect"};
constexpr std::string_view to_string(Action a) { return action_names[static_cast<std::size_t>(a)]; }

}  // namespace ig
