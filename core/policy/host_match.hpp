#pragma once
// Host names as policies see them (README: Access policies, "Which policy"). Pure: no I/O.
#include <optional>
#include <string>
#include <string_view>

namespace ig {

// The request's host as policies compare it: port dropped, lower case, one trailing dot dropped
// (`Admin.Example.com.:443` is `admin.example.com`). nullopt when it is not a host name (letters,
// digits, `-`, `_`, `.`) or a bracketed IP literal: such a host fits no pattern and is refused
// where a policy names hosts.
std::optional<std::string> request_host(std::string_view host_header);

// A configured pattern in its stored form (lower case), or why it is not one: an exact name, or
// `*.` followed by a name (every name below it, not the name itself).
struct HostPattern {
    std::string text;  // as stored: "admin.example.com" or "*.ops.example.com"
};
std::optional<std::string> host_pattern_problem(std::string_view pattern);
HostPattern make_host_pattern(std::string_view pattern);

// `host` is a request_host().
bool host_fits(std::string_view host, const HostPattern& pattern);

}  // namespace ig
