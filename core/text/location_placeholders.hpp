#pragma once
// A redirect location's placeholders, {request_id} and {return_url} (docs/configuration.md:
// `outcomes`): the one scanner, used by the config check (with sample values) and by the answer.
#include <string>
#include <string_view>

namespace ig {

struct FilledLocation {
    std::string text;  // the location with every known placeholder replaced
    std::string unknown;  // the first other "{...}" (or an unclosed "{"), as written, at most 20 bytes; "" if none
};

// Replaces {request_id} and {return_url} with the values percent-encoded (unreserved characters
// stay); anything else in braces stays as written and is reported in `unknown`.
FilledLocation fill_location(std::string_view location, std::string_view request_id, std::string_view return_url);

}  // namespace ig
