#pragma once
// "Check again" (README: `intune.recheck_interval_s`; docs/people.md): the path the HTML deny
// page's form posts to, the recheck of the device (the same on the front end and the authorization
// endpoint), and where the browser goes afterwards.
#include "core/verdict/compliance.hpp"
#include "proxy/admin/proxy_metrics.hpp"
#include "proxy/answer/answer.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace ig {

inline constexpr std::string_view recheck_path = "/.well-known/intune-gate/recheck";
// The form's body is read only up to this size (its one field is a path of at most
// max_return_bytes, percent-encoded); a larger one is left unread and `return` is "/".
inline constexpr std::size_t max_recheck_body = 8192;
inline constexpr std::size_t max_return_bytes = 2048;

// True when the target's path (before any query) is recheck_path.
bool is_recheck_path(std::string_view target);

// The 303 Location for the form's `return` value (already form-decoded): the value when it is a
// path on this site (one leading `/`, not `//` or `/\`, nor `/%2F` or `/%5C`, no scheme, no
// backslash, no control character or space, encoded or not, at most max_return_bytes), else "/".
// Never a URL that leaves the site.
std::string recheck_location(std::string_view return_value);

// The field `name` of an application/x-www-form-urlencoded body, decoded ('+' a space, %XX a byte);
// nullopt when it is absent, given twice or not well encoded.
std::optional<std::string> form_field(std::string_view body, std::string_view name);

struct Recheck {
    RecheckResult result = RecheckResult::NoDeviceId;
    // After the recheck (Rechecked) or what is cached (RateLimited); none without a device or a cached verdict.
    std::optional<Verdict> verdict;
};

// No device ID: nothing is asked. Otherwise, when the device was not rechecked within `interval`
// (ComplianceService::admit_recheck()), its verdict is dropped here and in the shared cache and
// looked up now; else the cached verdict stands and Graph is not asked.
// Executor: the calling coroutine's, as for lookup_verdict().
template <class Executor = boost::asio::any_io_executor>
boost::asio::awaitable<Recheck, Executor> recheck_device(ComplianceService& compliance,
                                                         const std::optional<std::string>& device_id,
                                                         std::chrono::seconds interval, std::string_view request_id);

// The answer: 303 to `location` (nginx dialect: 401 + Location with X-Intune-Status 303), no body,
// not to be cached.
Answer plan_recheck(Dialect dialect, std::string_view location);

}  // namespace ig
