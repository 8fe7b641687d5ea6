// intune-gate: the command line (README: Command line).
#include "core/config/config.hpp"
#include "proxy/explain.hpp"
#include "proxy/gateway.hpp"

#include <cstdio>
#include <iostream>
#include <string_view>

namespace {

constexpr std::string_view usage =
    "usage: intune-gate --config FILE        run the gateway (logs to stdout)\n"
    "       intune-gate --check-config FILE  validate the file, its certificates, keys and secrets\n"
    "       intune-gate --explain CERT.pem --config FILE [--url https://host/path]\n"
    "                                        what the gateway makes of a device certificate: device ID,\n"
    "                                        verification, outcome and action, the access policy for\n"
    "                                        the URL and each requirement (exit 0: forwarded)\n"
    "       intune-gate --version | --help\n";

enum class Warnings { Print, Log };

// Prints the errors; returns the config only when it is valid. Its warnings are printed, or left
// to the running gateway, which logs them as JSON lines like everything else it writes.
std::optional<ig::Config> load_or_report(std::string_view file, Warnings warnings = Warnings::Print) {
    auto result = ig::load_config(std::filesystem::path(file));
    for (const auto& e : result.errors) std::cerr << e << '\n';
    if (!result.config) return std::nullopt;
    if (warnings == Warnings::Print)
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
    if ((argc == 5 || argc == 7) &&
        (std::string_view(argv[1]) == "--explain" || std::string_view(argv[3]) == "--explain")) {
        // --explain CERT and --config FILE in either order, then optionally --url URL.
        const bool explain_first = std::string_view(argv[1]) == "--explain";
        const char* cert = explain_first ? argv[2] : argv[4];
        const char* file = explain_first ? argv[4] : argv[2];
        if (std::string_view(explain_first ? argv[3] : argv[1]) != "--config" ||
            (argc == 7 && std::string_view(argv[5]) != "--url")) {
            std::cerr << usage;
            return 2;
        }
        auto config = load_or_report(file);
        if (!config) return 2;
        return ig::explain_certificate(*config, cert, std::cout, argc == 7 ? argv[6] : "");
    }
    if (argc == 3 && std::string_view(argv[1]) == "--config") {
        auto config = load_or_report(argv[2], Warnings::Log);
        if (!config) return 2;
        return ig::run_gateway(argv[2], std::move(*config));
    }
    std::cerr << usage;
    return 2;
}
