#pragma once
// OS versions as Intune reports them and policies compare them (README: Access policies, `os`).
// Pure: no I/O.
#include <optional>
#include <string_view>

namespace ig {

// The part of a reported version that is compared: from the start up to the first character that
// is neither a digit nor a dot ("14.5 (23F79)" → "14.5"). nullopt when it does not start with a
// digit (nothing to compare: the requirement fails).
std::optional<std::string_view> comparable_version(std::string_view reported);

// Digits and dots, starting and ending with a digit, no empty part: the form a policy is written in.
bool is_plain_version(std::string_view v);

// <0, 0, >0 as a is older than, the same as, newer than b; numeric by dot-separated parts, a
// missing or empty part is 0 ("14" = "14.0"), parts of any length (no overflow).
int compare_versions(std::string_view a, std::string_view b);

}  // namespace ig
