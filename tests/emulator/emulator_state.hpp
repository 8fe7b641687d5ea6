#pragma once
// Everything the emulator knows and counts: tenants and their app registrations (immutable after
// loading), devices, issued tokens, faults and statistics (guarded by one mutex).
#include <nlohmann/json.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace ig::test::emu {

struct app_client {
  std::string secret;
  std::filesystem::path certificate;  // absolute; empty when none registered
  std::map<std::string, std::string> users;  // lower-case user name -> password
};

struct fault {
  int latency_ms = 0;
  int status = 0;
  // Retry-After: "retry_after" as written (a number, whole or fractional like Graph's "2.128", or a
  // string sent as is); "retry_after_date": seconds from now, sent as an HTTP-date.
  std::string retry_after;
  double retry_after_date = -1;
  // "body": "intune_forbidden" answers with Intune's permission-denied body (401 UnknownError whose
  // message holds ErrorCode Forbidden) instead of the status's usual OData error.
  std::string body;
  bool drop = false, non_json = false, no_state = false;
  int deep_json = 0;       // the body gets a "deep" member nested this many arrays deep
  bool apps_only = false;  // the fault applies to detectedApps pages only
  // The device list's nextLinks run in a cycle of this many pages: the page that would go past page
  // list_cycle links back to the second page (the first has no skip token).
  int list_cycle = 0;
  // List faults (key "list"): $filter ignored as Graph ignores a filter it does not support (every
  // device, paged; counted as stats "filters_ignored"), or the Entra ID filter answered with the
  // device twice (two devices, one Entra ID). The filters honoured: azureADDeviceId eq '...' and
  // lastSyncDateTime gt <time>; PUT /_emulator/devices/{id} without a lastSyncDateTime stamps it now.
  bool ignore_filter = false, duplicate = false;
};

class emulator_state {
 public:
  explicit emulator_state(const std::filesystem::path& devices_file);  // throws std::runtime_error

  // nullptr when unknown; tenant and client ids compared case-insensitively.
  const app_client* client(std::string_view tenant, std::string_view client_id) const;
  bool tenant_known(std::string_view tenant) const;
  int apps_page_size() const { return apps_page_size_; }
  // Entra ID's older error_description form: the message, Trace ID, Correlation ID and Timestamp
  // on lines of their own (CR LF) instead of one line. Devices file: "aad_error_description": "crlf".
  bool aad_crlf() const { return aad_crlf_; }

  std::optional<nlohmann::json> device(std::string_view id) const;
  void set_device(std::string_view id, nlohmann::json device);  // throws std::invalid_argument
  // {"<id>": {device}, ...}: all of them or, when one is bad, none (throws std::invalid_argument).
  // Returns how many were set. The soak (bench/soak.sh) flips a batch of states in one request.
  std::size_t set_devices(const nlohmann::json& devices);

  // Returns {token, expires_in}.
  std::pair<std::string, int> issue_token();
  bool token_valid(std::string_view token) const;
  void revoke_tokens();
  void set_token_lifetime(int seconds);
  // How long the token endpoint waits before a successful answer (tests of concurrent refreshes).
  void set_token_latency(int ms);
  int token_latency_ms() const;

  // The fault for this device (its own, else "*"), consuming one of its "times".
  std::optional<fault> take_fault(std::string_view device_id);
  void set_fault(std::string_view key, const nlohmann::json& spec);  // throws std::invalid_argument
  void clear_faults();

  void count_token_request(std::string_view grant_type);
  void count_graph_request();
  void count_device_request(std::string_view device_id);
  void count_app_request();
  void count_connection();  // a TLS connection completed its handshake
  void count_connection_closed();  // one of those ended ("open_connections" in stats)
  nlohmann::json stats() const;
  void reset_stats();

  // The device list (GET /v1.0/deviceManagement/managedDevices, device_list.cpp): the file's
  // devices in id order, then `synthetic_devices` generated ones (ids synthetic_device_id(i)).
  void set_synthetic_devices(std::size_t n);
  std::size_t device_count() const;
  std::vector<nlohmann::json> devices_page(std::size_t offset, std::size_t count) const;
  // Every device (file, then synthetic ones not overridden) for which `keep` holds, at most `max`.
  std::vector<nlohmann::json> devices_where(const std::function<bool(const nlohmann::json&)>& keep,
                                            std::size_t max) const;
  void count_filter_request(const std::string& filter);
  void count_filter_ignored();  // a "list" fault ignore_filter answered a $filter with every device
  void count_list_request();
  void count_listed_devices(std::size_t n);

 private:
  struct armed_fault {
    fault f;
    std::optional<int> times;  // nullopt = forever
  };
  static armed_fault parse_fault(const nlohmann::json& spec);

  std::map<std::string, std::map<std::string, app_client>> tenants_;  // immutable after ctor
  int apps_page_size_ = 2;
  bool aad_crlf_ = false;

  mutable std::mutex m_;
  std::map<std::string, nlohmann::json> devices_;
  std::map<std::string, armed_fault> faults_;
  std::unordered_map<std::string, std::chrono::steady_clock::time_point> tokens_;
  int token_lifetime_s_ = 3600;
  std::size_t synthetic_devices_ = 0;
  int token_latency_ms_ = 0;
  long open_connections_ = 0;
  nlohmann::json stats_;
};

}  // namespace ig::test::emu
