// intune-graph-emulator --devices FILE --cert CRT --key KEY [--address A] [--port P] [--synthetic-devices N]
// Serves the Graph emulator until SIGTERM/SIGINT; prints "listening on <origin>" once ready.
#include "tests/emulator/graph_emulator.hpp"
#include "tests/emulator/request_log.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <charconv>
#include <cstring>
#include <iostream>
#include <string_view>

namespace net = boost::asio;

namespace {

int usage(std::string_view problem) {
  if (!problem.empty()) std::cerr << "intune-graph-emulator: " << problem << "\n";
  std::cerr << "usage: intune-graph-emulator --devices FILE --cert CRT --key KEY [--address A] [--port P] [--synthetic-devices N]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  ig::test::EmulatorOptions opts;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      usage("");
      return 0;
    }
    if (i + 1 >= argc) return usage("missing value for " + std::string(arg));
    std::string_view value = argv[++i];
    if (arg == "--devices") opts.devices_file = value;
    else if (arg == "--cert") opts.cert = value;
    else if (arg == "--key") opts.key = value;
    else if (arg == "--address") opts.address = value;
    else if (arg == "--synthetic-devices") {
      std::size_t n = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || p != value.data() + value.size() || n > 10000000) return usage("bad --synthetic-devices");
      opts.synthetic_devices = n;
    }
    else if (arg == "--port") {
      unsigned port = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), port);
      if (ec != std::errc() || p != value.data() + value.size() || port > 65535) return usage("bad --port");
      opts.port = static_cast<std::uint16_t>(port);
    } else {
      return usage("unknown option " + std::string(arg));
    }
  }
  if (opts.devices_file.empty() || opts.cert.empty() || opts.key.empty())
    return usage("--devices, --cert and --key are required");

  try {
    ig::test::GraphEmulator emulator(opts);
    net::io_context ioc;
    net::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code&, int) { ioc.stop(); });
    std::cout << "listening on " << emulator.origin() << std::endl;
    ig::test::set_request_log(true);
    ioc.run();
    std::cout << "stopping" << std::endl;
  } catch (const std::exception& e) {
    std::cerr << "intune-graph-emulator: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
