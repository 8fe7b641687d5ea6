#include "tests/emulator/emulator_state.hpp"

#include "tests/emulator/device_list.hpp"
#include "tests/emulator/wire.hpp"

#include <fstream>
#include <stdexcept>

namespace ig::test::emu {

namespace {

nlohmann::json empty_stats() {
  return {{"token_requests", 0},
          {"graph_requests", 0},
          {"device_requests", nlohmann::json::object()},
          {"app_requests", 0},
          {"connections", 0},
          {"open_connections", 0},
          {"by_grant", {{"client_credentials", 0}, {"password", 0}}}};
}

}  // namespace

emulator_state::emulator_state(const std::filesystem::path& devices_file) : stats_(empty_stats()) {
  std::ifstream in(devices_file);
  if (!in) throw std::runtime_error("cannot read devices file '" + devices_file.string() + "'");
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(in);
    const auto base = std::filesystem::absolute(devices_file).parent_path();
    const auto empty = nlohmann::json::object();
    const auto& tenants = doc.contains("tenants") ? doc.at("tenants") : empty;
    for (auto& [tenant, t] : tenants.items()) {
      auto& clients = tenants_[to_lower(tenant)];
      const auto& cs = t.contains("clients") ? t.at("clients") : empty;
      for (auto& [client_id, c] : cs.items()) {
        app_client ac;
        ac.secret = c.value("secret", "");
        if (c.contains("certificate")) ac.certificate = base / c.at("certificate").get<std::string>();
        const auto& users = c.contains("users") ? c.at("users") : empty;
        for (auto& [user, password] : users.items()) ac.users[to_lower(user)] = password.get<std::string>();
        clients[to_lower(client_id)] = std::move(ac);
      }
    }
    token_lifetime_s_ = doc.value("token_expires_in", 3600);
    apps_page_size_ = std::max(1, doc.value("apps_page_size", 2));
    aad_crlf_ = doc.value("aad_error_description", "one_line") == "crlf";
    const auto& devices = doc.contains("devices") ? doc.at("devices") : empty;
    for (auto& [id, d] : devices.items()) set_device(id, d);
  } catch (const std::exception& e) {
    throw std::runtime_error("bad devices file '" + devices_file.string() + "': " + e.what());
  }
}

const app_client* emulator_state::client(std::string_view tenant, std::string_view client_id) const {
  auto t = tenants_.find(to_lower(tenant));
  if (t == tenants_.end()) return nullptr;
  auto c = t->second.find(to_lower(client_id));
  return c == t->second.end() ? nullptr : &c->second;
}

bool emulator_state::tenant_known(std::string_view tenant) const { return tenants_.contains(to_lower(tenant)); }

std::optional<nlohmann::json> emulator_state::device(std::string_view id) const {
  std::lock_guard lock(m_);
  auto it = devices_.find(to_lower(id));
  if (it == devices_.end()) {
    if (auto i = synthetic_device_index(id); i && *i < synthetic_devices_) return synthetic_device(*i);
    return std::nullopt;
  }
  return it->second;
}

void emulator_state::set_device(std::string_view id, nlohmann::json device) {
  if (!device.is_object()) throw std::invalid_argument("device must be a JSON object");
  auto key = to_lower(id);
  if (!device.contains("id")) device["id"] = key;
  std::optional<armed_fault> f;
  if (device.contains("fault")) f = parse_fault(device.at("fault"));
  std::lock_guard lock(m_);
  devices_[key] = std::move(device);
  if (f) faults_[key] = *f;
}

std::size_t emulator_state::set_devices(const nlohmann::json& devices) {
  if (!devices.is_object()) throw std::invalid_argument("devices must be a JSON object of id -> device");
  for (auto& [id, d] : devices.items()) {
    if (!d.is_object()) throw std::invalid_argument("device " + id.substr(0, 64) + " must be a JSON object");
    if (d.contains("fault")) parse_fault(d.at("fault"));  // throws before anything is set
  }
  for (auto& [id, d] : devices.items()) set_device(id, d);
  return devices.size();
}

std::pair<std::string, int> emulator_state::issue_token() {
  auto token = "eyJ0eXAiOiJKV1QiLCJlbXUiOnRydWV9." + random_opaque(32) + "." + random_opaque(16);
  auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(m_);
  std::erase_if(tokens_, [&](const auto& kv) { return kv.second <= now; });
  tokens_[token] = now + std::chrono::seconds(token_lifetime_s_);
  return {token, token_lifetime_s_};
}

bool emulator_state::token_valid(std::string_view token) const {
  std::lock_guard lock(m_);
  auto it = tokens_.find(std::string(token));
  return it != tokens_.end() && it->second > std::chrono::steady_clock::now();
}

void emulator_state::revoke_tokens() {
  std::lock_guard lock(m_);
  tokens_.clear();
}

void emulator_state::set_token_lifetime(int seconds) {
  std::lock_guard lock(m_);
  token_lifetime_s_ = seconds;
}

void emulator_state::set_token_latency(int ms) {
  if (ms < 0 || ms > 600000) throw std::invalid_argument("bad token latency_ms");
  std::lock_guard lock(m_);
  token_latency_ms_ = ms;
}

int emulator_state::token_latency_ms() const {
  std::lock_guard lock(m_);
  return token_latency_ms_;
}

emulator_state::armed_fault emulator_state::parse_fault(const nlohmann::json& spec) {
  if (!spec.is_object()) throw std::invalid_argument("fault must be a JSON object");
  armed_fault a;
  try {
    a.f.latency_ms = spec.value("latency_ms", 0);
    a.f.status = spec.value("status", 0);
    if (auto ra = spec.find("retry_after"); ra != spec.end() && !ra->is_null()) {
      if (ra->is_string()) a.f.retry_after = ra->get<std::string>();
      else if (ra->is_number_integer()) a.f.retry_after = std::to_string(ra->get<long long>());
      else if (ra->is_number()) a.f.retry_after = ra->dump();  // e.g. 2.128 as written
      else throw std::invalid_argument("bad fault retry_after");
      if (a.f.retry_after.find_first_of("\r\n") != std::string::npos) throw std::invalid_argument("bad fault retry_after");
    }
    a.f.retry_after_date = spec.value("retry_after_date", -1.0);
    a.f.body = spec.value("body", "");
    a.f.drop = spec.value("drop", false);
    a.f.non_json = spec.value("non_json", false);
    a.f.no_state = spec.value("no_state", false);
    a.f.deep_json = spec.value("deep_json", 0);
    a.f.apps_only = spec.value("apps_only", false);
    a.f.list_cycle = spec.value("list_cycle", 0);
    a.f.ignore_filter = spec.value("ignore_filter", false);
    a.f.duplicate = spec.value("duplicate", false);
    if (spec.contains("times")) a.times = spec.at("times").get<int>();
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(std::string("bad fault: ") + e.what());
  }
  if (a.f.status != 0 && (a.f.status < 100 || a.f.status > 599)) throw std::invalid_argument("bad fault status");
  if (a.f.deep_json < 0 || a.f.deep_json > 10'000'000) throw std::invalid_argument("bad fault deep_json");
  if (a.f.list_cycle < 0 || a.f.list_cycle > 1000) throw std::invalid_argument("bad fault list_cycle");
  if (a.f.latency_ms < 0 || a.f.latency_ms > 600000) throw std::invalid_argument("bad fault latency_ms");
  if (!a.f.body.empty() && a.f.body != "intune_forbidden") throw std::invalid_argument("bad fault body");
  return a;
}

std::optional<fault> emulator_state::take_fault(std::string_view device_id) {
  std::lock_guard lock(m_);
  auto it = faults_.find(to_lower(device_id));
  if (it == faults_.end()) it = faults_.find("*");
  if (it == faults_.end()) return std::nullopt;
  if (it->second.times && *it->second.times <= 0) {
    faults_.erase(it);
    return std::nullopt;
  }
  fault f = it->second.f;
  if (it->second.times && --*it->second.times <= 0) faults_.erase(it);
  return f;
}

void emulator_state::set_fault(std::string_view key, const nlohmann::json& spec) {
  auto a = parse_fault(spec);
  std::lock_guard lock(m_);
  faults_[key == "*" ? std::string("*") : to_lower(key)] = a;
}

void emulator_state::clear_faults() {
  std::lock_guard lock(m_);
  faults_.clear();
}

void emulator_state::count_token_request(std::string_view grant_type) {
  std::lock_guard lock(m_);
  stats_["token_requests"] = stats_["token_requests"].get<int>() + 1;
  if (grant_type == "client_credentials" || grant_type == "password") {
    auto& n = stats_["by_grant"][std::string(grant_type)];
    n = n.get<int>() + 1;
  }
}

void emulator_state::count_graph_request() {
  std::lock_guard lock(m_);
  stats_["graph_requests"] = stats_["graph_requests"].get<int>() + 1;
}

void emulator_state::count_device_request(std::string_view device_id) {
  std::lock_guard lock(m_);
  auto& n = stats_["device_requests"][to_lower(device_id)];
  n = n.is_number() ? n.get<int>() + 1 : 1;
}

void emulator_state::count_connection() {
  std::lock_guard lock(m_);
  stats_["connections"] = stats_["connections"].get<int>() + 1;
  ++open_connections_;
  stats_["open_connections"] = open_connections_;
}

void emulator_state::count_connection_closed() {
  std::lock_guard lock(m_);
  --open_connections_;
  stats_["open_connections"] = open_connections_;
}

void emulator_state::set_synthetic_devices(std::size_t n) {
  std::lock_guard lock(m_);
  synthetic_devices_ = n;
}

std::size_t emulator_state::device_count() const {
  std::lock_guard lock(m_);
  return devices_.size() + synthetic_devices_;
}

std::vector<nlohmann::json> emulator_state::devices_page(std::size_t offset, std::size_t count) const {
  std::lock_guard lock(m_);
  std::vector<nlohmann::json> out;
  auto it = devices_.begin();
  for (std::size_t i = 0; i < offset && it != devices_.end(); ++i) ++it;
  for (; it != devices_.end() && out.size() < count; ++it) out.push_back(it->second);
  std::size_t next = offset > devices_.size() ? offset - devices_.size() : 0;
  for (; next < synthetic_devices_ && out.size() < count; ++next) out.push_back(synthetic_device(next));
  return out;
}

std::vector<nlohmann::json> emulator_state::devices_where(const std::function<bool(const nlohmann::json&)>& keep,
                                                          std::size_t max) const {
  std::lock_guard lock(m_);
  std::vector<nlohmann::json> out;
  for (const auto& [id, d] : devices_)
    if (out.size() < max && keep(d)) out.push_back(d);
  for (std::size_t i = 0; i < synthetic_devices_ && out.size() < max; ++i) {
    auto d = synthetic_device(i);
    if (!devices_.contains(d["id"].get<std::string>()) && keep(d)) out.push_back(std::move(d));
  }
  return out;
}

void emulator_state::count_filter_request(const std::string& filter) {
  std::lock_guard lock(m_);
  auto& n = stats_["filter_requests"];
  n = n.is_number() ? n.get<int>() + 1 : 1;
  auto& seen = stats_["filters"];  // the $filter values as received (decoded), the last 50
  if (!seen.is_array()) seen = nlohmann::json::array();
  if (seen.size() >= 50) seen.erase(seen.begin());
  seen.push_back(filter);
}

void emulator_state::count_filter_ignored() {
  std::lock_guard lock(m_);
  auto& n = stats_["filters_ignored"];
  n = n.is_number() ? n.get<int>() + 1 : 1;
}

void emulator_state::count_list_request() {
  std::lock_guard lock(m_);
  auto& n = stats_["list_requests"];
  n = n.is_number() ? n.get<int>() + 1 : 1;
}

void emulator_state::count_listed_devices(std::size_t count) {
  std::lock_guard lock(m_);
  auto& n = stats_["listed_devices"];
  n = (n.is_number() ? n.get<std::size_t>() : 0) + count;
}

void emulator_state::count_app_request() {
  std::lock_guard lock(m_);
  stats_["app_requests"] = stats_["app_requests"].get<int>() + 1;
}

nlohmann::json emulator_state::stats() const {
  std::lock_guard lock(m_);
  return stats_;
}

void emulator_state::reset_stats() {
  std::lock_guard lock(m_);
  stats_ = empty_stats();
  stats_["open_connections"] = open_connections_;  // a gauge: what is open stays open
}

}  // namespace ig::test::emu
