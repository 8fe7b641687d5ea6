#pragma once
// Reads a device from Graph by the ID its certificate carries (README: `device_id.lookup`): the
// Intune device ID (managedDevices/{id}), the Entra ID device ID (the azureADDeviceId filter,
// under the exactly-one guard of core/graph/entra_lookup.hpp), or either, Intune first.
#include "core/config/config.hpp"
#include "core/graph/graph_client.hpp"

#include <boost/asio/awaitable.hpp>

#include <optional>
#include <string>

namespace ig {

struct DeviceRead {
    GraphReply reply;  // as a single read would have answered (decide() reads it)
    std::string intune_id;  // the device's Intune id when Graph named it (the apps are read under it)
    bool by_entra_id = false;  // found through the filter
    std::optional<std::string> error;  // the filter answer was ambiguous: outcome Error, this reason
};

boost::asio::awaitable<DeviceRead> read_device(GraphClient& graph, DeviceLookup mode, const std::string& id,
                                               Clock::time_point deadline, const std::string& request_id);

}  // namespace ig
