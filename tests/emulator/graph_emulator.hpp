#pragma once
// An in-process stand-in for login.microsoftonline.com and graph.microsoft.com (docs/testing.md):
// a TLS HTTP/1.1 keep-alive server on its own threads speaking the v2.0 token endpoint,
// managedDevices/{id}, beta detectedApps, OData errors and switchable faults.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

namespace ig::test {

struct EmulatorOptions {
  std::filesystem::path devices_file;
  std::filesystem::path cert, key;
  std::string address = "127.0.0.1";
  std::uint16_t port = 0;
  std::size_t synthetic_devices = 0;  // generated devices served besides the file's (device_list.hpp)
};

class GraphEmulator {  // runs on its own thread(s); thread-safe accessors
 public:
  // Starts listening; throws std::runtime_error on a bad devices file, cert/key or bind failure.
  explicit GraphEmulator(EmulatorOptions);
  ~GraphEmulator();  // stops and joins
  GraphEmulator(const GraphEmulator&) = delete;
  GraphEmulator& operator=(const GraphEmulator&) = delete;

  std::uint16_t port() const;
  std::string origin() const;  // "https://127.0.0.1:<port>"

  // {"token_requests":N,"graph_requests":N,"device_requests":{"<guid>":N},"app_requests":N,
  //  "by_grant":{"client_credentials":N,"password":N},"connections":N (TLS connections accepted),
  //  "open_connections":N (of those, still open now; not reset by reset_stats)}
  nlohmann::json stats() const;
  void reset_stats();

  // fault: {"latency_ms","status","retry_after" (number or string, e.g. 2.128),"retry_after_date"
  // (seconds from now, as an HTTP-date),"body":"intune_forbidden","times","drop","non_json","no_state",
  // "deep_json" (the body gets a member nested this many arrays deep),"apps_only","list_cycle" (the device
  // list's nextLinks cycle through this many pages)};
  // "*" applies to every Graph request (a device's own fault wins).
  void set_fault(const std::string& device_id_or_star, nlohmann::json fault);
  void clear_faults();
  void set_device(const std::string& id, nlohmann::json device);  // add/replace a device
  void set_token_lifetime(int expires_in_s);
  void revoke_tokens();  // every issued token now gets 401 InvalidAuthenticationToken

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
};

}  // namespace ig::test
