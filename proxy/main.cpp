// intune-gate: the command line (SPEC §3).
#include "core/config.hpp"
#include "proxy/gateway.hpp"

#include <cstdio>
#include <iostream>
#include <string_view>

namespace {

constexpr std::string_view usage =
    "usage: intune-gate --config FILE        run the gateway (logs to stdout)\n"
    "       intune-gate --check-config FILE  validate the file, its certificates, keys and secrets\n"
    "       intune-gate --version | --help\n";

// Prints warnings and errors; returns the config only when it is valid.
std::optional<ig::Config> load_or_report(std::string_view file) {
    auto result = ig::load_config(std::filesystem::path(file));
    for (const auto& e : result.errors) std::cerr << e << '\n';
    if (!result.config) return std::nullopt;
    for (const auto& w : result.config->warnings) std::cerr << "config warning: " << w << '\n';
    return std::move(result.config);
}

}  // namespace

int main(int argc, char** argv) {
    std::ios::sync_with_stdio(false);
    if (argc == 2 && (std::string_view(argv[1]) == "--help" || std::string_view(argv[1]) == "-h")) {
        std::cout << usage;
        return 0;
    }
    if (argc == 2 && std::string_view(argv[1]) == "--version") {
        std::cout << "intune-gate " << IG_VERSION << '\n';
        return 0;
    }
    if (argc == 3 && std::string_view(argv[1]) == "--check-config") {
        auto config = load_or_report(argv[2]);
        if (!config) return 2;
        std::cout << "config ok: " << config->file.string() << '\n';
        return 0;
    }
    if (argc == 3 && std::string_view(argv[1]) == "--config") {
        auto config = load_or_report(argv[2]);
        if (!config) return 2;
        return ig::run_gateway(argv[2], std::move(*config));
    }
    std::cerr << usage;
    return 2;
}
