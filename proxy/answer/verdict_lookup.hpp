#pragma once
// The two steps both request paths (the front end and the authorization endpoint) take between
// "this is the device" and plan_answer(): the verdict, and the access record's decision fields.
#include "core/verdict/compliance.hpp"
#include "proxy/answer/access_log.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace ig {

// The device's verdict: a fresh cached one, else one lookup on the compliance core (request_id
// goes to Graph as client-request-id). Without a device ID: NoId with `no_id_reason`, Graph not asked.
// Executor: the calling coroutine's (boost::asio::any_io_executor, or the front end's worker
// executor type, proxy/front/worker_executor.hpp).
template <class Executor = boost::asio::any_io_executor>
boost::asio::awaitable<Verdict, Executor> lookup_verdict(ComplianceService& compliance,
                                                         const std::optional<std::string>& device_id,
                                                         std::string_view no_id_reason, std::string_view request_id);

// The access record's device, outcome, state, action, Graph time, cache hit and (for Error) the
// verdict's reason as its error.
void note_verdict(AccessRecord& rec, const Verdict& verdict, const std::optional<std::string>& device_id,
                  Action action);

}  // namespace ig
