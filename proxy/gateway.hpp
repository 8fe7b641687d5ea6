#pragma once
// Runs the gateway until SIGTERM/SIGINT; SIGHUP reloads from config_file. Returns the exit status.
#include "core/config/config.hpp"

#include <filesystem>

namespace ig {

int run_gateway(const std::filesystem::path& config_file, Config config);

}  // namespace ig
