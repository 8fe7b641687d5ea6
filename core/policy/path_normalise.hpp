#pragma once
// Request paths as the upstream will read them (README: Access policies, "Paths are compared as the
// upstream will read them"). Pure: no I/O. The security core of per-path policies: the path a
// policy is matched against and the path the upstream gets are made from the same normalised form,
// so no spelling of a path (encoded dots, merged slashes, `..;` read as `..`) can step around it.
#include <optional>
#include <string>
#include <string_view>

namespace ig {

struct NormalisedPath {
    std::string forward;  // what the upstream gets: segments with their ;parameters, no query
    std::string match;  // what policies are matched against: the same segments without parameters
};

// RFC 3986 normalisation of an absolute path (no query), made so that spellings an upstream reads
// alike are alike: percent-encoded unreserved characters and sub-delimiters (but `;`) decoded, every
// other byte percent-encoded with upper-case hex (raw UTF-8 too), repeated `/` merged, dot segments
// removed (§5.2.4) where a segment is a dot segment when it is `.` or `..` once its `;parameters`
// are dropped (Tomcat reads `/public/..;/admin` as `/admin`). nullopt: the path is not accepted —
// it does not start with `/`, holds an encoded slash, backslash, semicolon or NUL (`%2F`, `%5C`,
// `%3B`, `%00`: upstreams disagree on where such a path splits), a raw backslash, space, control
// character, `?` or `#` (split the query off first), a `%` not followed by two hex digits, or an
// overlong UTF-8 sequence (`%C0%AE`, a `.` to a lax decoder).
std::optional<NormalisedPath> normalise_path(std::string_view path);

// An origin-form request target split at the first `?`: the path, and the query with its `?`.
struct TargetParts {
    std::string_view path;
    std::string_view query;  // "" or "?..."
};
TargetParts split_target(std::string_view target);

// The path without the `;parameters` of each segment.
std::string without_parameters(std::string_view path);

// Whether `path` (a match form) lies under `prefix` at a segment boundary: `/admin` fits `/admin`,
// `/admin/`, `/admin/x`, not `/administrator`; `/api/admin/` fits `/api/admin/` and below.
bool path_has_prefix(std::string_view path, std::string_view prefix);

}  // namespace ig
