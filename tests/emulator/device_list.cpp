#include "tests/emulator/device_list.hpp"

#include "core/graph/managed_device_properties.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include <algorithm>
#include <utility>
#include <charconv>
#include <cstdio>

namespace ig::test::emu {
namespace {

constexpr std::string_view synthetic_prefix = "5e000000-0000-4000-8000-";
constexpr std::string_view synthetic_entra_prefix = "ad000000-0000-4000-8000-";
constexpr std::string_view skiptoken_tag = "emu-list:";

std::optional<std::string> param(boost::urls::url_view target, std::string_view name) {
  for (auto p : target.params(boost::urls::encoding_opts(true))) {
    auto key = to_lower(p.key);
    if (!key.empty() && key[0] == '$') key.erase(0, 1);
    if (key == name) return std::string(p.value);
  }
  return std::nullopt;
}

std::optional<std::size_t> number(std::string_view s) {
  std::size_t n = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return n;
}

std::vector<std::string> split_select(std::string_view s) {
  std::vector<std::string> out;
  while (!s.empty()) {
    auto c = s.find(',');
    auto item = s.substr(0, c);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    if (!item.empty()) out.emplace_back(item);
    if (c == std::string_view::npos) break;
    s.remove_prefix(c + 1);
  }
  return out;
}

bool internal_property(std::string_view k) {
  return k == "fault" || k == "detectedApps" || k == "apps_next_link_host";
}

}  // namespace

bool is_device_list_route(const std::vector<std::string>& seg) {
  return seg.size() == 3 && seg[0] == "v1.0" && to_lower(seg[1]) == "devicemanagement" &&
         to_lower(seg[2]) == "manageddevices";
}

std::string synthetic_device_id(std::size_t i) {
  char tail[16];
  std::snprintf(tail, sizeof tail, "%012zx", i);
  return std::string(synthetic_prefix) + tail;
}

std::optional<std::size_t> synthetic_device_index(std::string_view id) {
  auto lower = to_lower(id);
  if (lower.size() != synthetic_prefix.size() + 12 || lower.compare(0, synthetic_prefix.size(), synthetic_prefix) != 0)
    return std::nullopt;
  std::size_t n = 0;
  auto tail = std::string_view(lower).substr(synthetic_prefix.size());
  auto [p, ec] = std::from_chars(tail.data(), tail.data() + tail.size(), n, 16);
  if (ec != std::errc() || p != tail.data() + tail.size()) return std::nullopt;
  return n;
}

std::string synthetic_entra_id(std::size_t i) {
  char tail[16];
  std::snprintf(tail, sizeof tail, "%012zx", i);
  return std::string(synthetic_entra_prefix) + tail;
}

nlohmann::json synthetic_device(std::size_t i) {
  return {{"id", synthetic_device_id(i)},
          {"deviceName", "SYN-" + std::to_string(i)},
          {"managedDeviceOwnerType", "company"},
          {"complianceState", i % 10 == 9 ? "noncompliant" : "compliant"},
          {"managementAgent", "mdm"},
          {"operatingSystem", "Windows"},
          {"osVersion", "10.0.22631.4460"},
          {"userPrincipalName", "user" + std::to_string(i) + "@contoso.example"},
          {"azureADDeviceId", synthetic_entra_id(i)},
          {"lastSyncDateTime", "2026-01-01T00:00:00Z"}};
}

// The OData string literal at the start of `s` (after its opening quote; '' is one quote), and
// what follows its closing quote; nullopt when it is not closed.
std::optional<std::pair<std::string, std::string_view>> odata_literal(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\'') {
      out.push_back(s[i]);
    } else if (i + 1 < s.size() && s[i + 1] == '\'') {
      out.push_back('\'');
      ++i;
    } else {
      return std::pair{std::move(out), s.substr(i + 1)};
    }
  }
  return std::nullopt;
}

// The devices a supported $filter selects; nullopt for no filter or one Graph would ignore.
// `malformed`: the Entra ID clause is not one closed literal and nothing else (Graph: 400), which
// is how a test sees an ID that ended the literal early and added a clause of its own.
std::optional<std::vector<nlohmann::json>> filtered(std::string_view filter, const emulator_state& state,
                                                    bool& malformed) {
  constexpr std::string_view entra = "azureADDeviceId eq '", since = "lastSyncDateTime gt ";
  if (filter.size() >= entra.size() && to_lower(filter.substr(0, entra.size())) == to_lower(entra)) {
    auto literal = odata_literal(filter.substr(entra.size()));
    if (!literal || !literal->second.empty()) {
      malformed = true;
      return std::nullopt;
    }
    const auto id = to_lower(literal->first);
    return state.devices_where([&](const nlohmann::json& d) { return to_lower(d.value("azureADDeviceId", "")) == id; },
                               max_list_page);
  }
  if (filter.size() > since.size() && to_lower(filter.substr(0, since.size())) == to_lower(since)) {
    const std::string after(filter.substr(since.size()));
    return state.devices_where([&](const nlohmann::json& d) { return d.value("lastSyncDateTime", "") > after; },
                               max_list_page);
  }
  return std::nullopt;
}

response device_list_page(const request& req, boost::urls::url_view target, const std::string& link_origin,
                          emulator_state& state, const fault* f) {
  std::size_t top = max_list_page;
  if (auto t = param(target, "top")) {
    auto n = number(*t);
    if (!n || *n == 0) return odata_error(req, http::status::bad_request, "BadRequest", "Invalid $top value.");
    top = std::min(*n, max_list_page);
  }
  std::size_t offset = 0;
  if (auto tok = param(target, "skiptoken")) {
    auto raw = base64url_decode(*tok);
    auto n = raw && raw->rfind(skiptoken_tag, 0) == 0 ? number(std::string_view(*raw).substr(skiptoken_tag.size()))
                                                      : std::nullopt;
    if (!n) return odata_error(req, http::status::bad_request, "BadRequest", "Invalid skip token.");
    offset = *n;
  }
  const auto select = param(target, "select");
  const auto names = select ? split_select(*select) : std::vector<std::string>{};
  // The list refuses an unknown $select property as the single read does (graph_endpoints.cpp).
  for (auto& n : names)
    if (!ig::v1_device_property(n))
      return odata_error(req, http::status::bad_request, "BadRequest",
                         "Parsing OData Select and Expand failed: Could not find a property named '" + n.substr(0, 100) +
                             "' on type 'microsoft.graph.managedDevice'.");

  nlohmann::json value = nlohmann::json::array();
  std::optional<std::vector<nlohmann::json>> matches;
  if (auto filter = param(target, "filter")) {
    state.count_filter_request(*filter);
    bool malformed = false;
    if (!(f && f->ignore_filter)) matches = filtered(*filter, state, malformed);
    else state.count_filter_ignored();
    if (malformed)
      return odata_error(req, http::status::bad_request, "BadRequest", "Invalid filter clause");
    if (matches && f && f->duplicate && !matches->empty()) {
      auto twin = matches->front();
      twin["id"] = new_uuid();
      matches->push_back(std::move(twin));
    }
  }
  const auto devices = matches ? *matches : state.devices_page(offset, top);
  for (const auto& d : devices) {
    nlohmann::json item = nlohmann::json::object();
    if (!names.empty()) {
      item["id"] = d.value("id", "");
      for (auto& n : names) {
        if (n == "id") continue;
        auto it = d.find(n);
        item[n] = it != d.end() && !internal_property(n) ? *it : nlohmann::json(nullptr);
      }
    } else {
      item["@odata.type"] = "#microsoft.graph.managedDevice";
      for (auto& [k, v] : d.items())
        if (!internal_property(k)) item[k] = v;
    }
    value.push_back(std::move(item));
  }
  state.count_listed_devices(devices.size());

  std::string context = "https://graph.microsoft.com/v1.0/$metadata#deviceManagement/managedDevices";
  if (!names.empty()) {
    std::string list;
    for (auto& n : names) list += (list.empty() ? "" : ",") + n;
    context += "(" + list + ")";
  }
  nlohmann::json body{{"@odata.context", context}};
  std::size_t end = offset + devices.size();
  // A fault: past page list_cycle, the link leads back to the second page.
  if (f && f->list_cycle > 0 && end > static_cast<std::size_t>(f->list_cycle) * top) end = top;
  if (!matches && end < state.device_count() && !devices.empty()) {
    boost::urls::url next = boost::urls::parse_uri(link_origin + "/v1.0/deviceManagement/managedDevices").value();
    if (auto filter = param(target, "filter")) next.params().append({"$filter", *filter});
    if (select) next.params().append({"$select", *select});
    next.params().append({"$top", std::to_string(top)});
    next.params().append({"$skiptoken", base64url_encode(std::string(skiptoken_tag) + std::to_string(end))});
    body["@odata.nextLink"] = std::string(next.buffer());
  }
  body["value"] = std::move(value);
  auto res = json_response(req, http::status::ok, body, odata_json);
  res.set("request-id", new_uuid());
  res.set("client-request-id", client_request_id(req));
  res.set("odata-version", "4.0");
  return res;
}

}  // namespace ig::test::emu
