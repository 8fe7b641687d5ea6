#include "core/verdict/device_lookup.hpp"

#include "core/graph/entra_lookup.hpp"
#include "core/identity/device_id.hpp"

namespace ig {
namespace net = boost::asio;

namespace {

net::awaitable<DeviceRead> read_by_entra_id(GraphClient& graph, const std::string& id, Clock::time_point deadline,
                                            const std::string& request_id) {
    DeviceRead out;
    out.by_entra_id = true;
    // The callers pass the certificate's normalised ID; anything else never reaches Graph's filter.
    if (normalize_guid(id) != id) {
        out.error = "invalid Entra device ID";
        co_return out;
    }
    out.reply = co_await graph.get_by_entra_id(id, deadline, request_id);
    if (out.reply.kind != GraphReply::Kind::Answered || out.reply.status != 200) co_return out;
    auto match = match_entra_answer(out.reply.body, id);
    switch (match.kind) {
        case EntraMatch::Kind::One:
            out.reply.body = std::move(match.device);
            out.intune_id = std::move(match.intune_id);
            break;
        case EntraMatch::Kind::None:
            out.reply.status = 404;  // "device not found in Intune": device_not_found decides
            out.reply.body.clear();
            break;
        case EntraMatch::Kind::Ambiguous: out.error = std::string(ambiguous_entra_id) + ": " + match.why; break;
    }
    co_return out;
}

}  // namespace

net::awaitable<DeviceRead> read_device(GraphClient& graph, DeviceLookup mode, const std::string& id,
                                       Clock::time_point deadline, const std::string& request_id) {
    if (mode != DeviceLookup::Entra) {
        DeviceRead out;
        out.reply = co_await graph.get_device(id, deadline, request_id);
        out.intune_id = id;
        const bool not_found = out.reply.kind == GraphReply::Kind::Answered && out.reply.status == 404;
        if (mode == DeviceLookup::Intune || !not_found) co_return out;
    }
    co_return co_await read_by_entra_id(graph, id, deadline, request_id);
}

}  // namespace ig
