#include "proxy/answer/verdict_lookup.hpp"

#include "core/text/text.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace ig {

template <class Executor>
boost::asio::awaitable<Verdict, Executor> lookup_verdict(ComplianceService& compliance,
                                                         const std::optional<std::string>& device_id,
                                                         std::string_view no_id_reason, std::string_view request_id) {
    if (!device_id) {
        Verdict verdict;
        verdict.outcome = Outcome::NoId;
        verdict.reason = std::string(no_id_reason);
        co_return verdict;
    }
    if (auto hit = compliance.cached(*device_id)) co_return std::move(*hit);
    co_return co_await compliance.async_lookup(*device_id, std::string(request_id),
                                               boost::asio::use_awaitable_t<Executor>{});
}

template boost::asio::awaitable<Verdict, boost::asio::any_io_executor> lookup_verdict(ComplianceService&,
                                                                                      const std::optional<std::string>&,
                                                                                      std::string_view,
                                                                                      std::string_view);
template boost::asio::awaitable<Verdict, boost::asio::io_context::executor_type> lookup_verdict(
    ComplianceService&, const std::optional<std::string>&, std::string_view, std::string_view);

void note_verdict(AccessRecord& rec, const Verdict& verdict, const std::optional<std::string>& device_id,
                  Action action) {
    rec.device_id = device_id.value_or(std::string());
    rec.outcome = std::string(to_string(verdict.outcome));
    rec.compliance_state = printable_ascii(verdict.compliance_state, 64);
    rec.action = std::string(to_string(action));
    rec.graph_ms = verdict.graph_ms;
    rec.cache_hit = verdict.cache_hit;
    if (verdict.outcome == Outcome::Error) rec.error = one_line(verdict.reason, 300);
}

}  // namespace ig
