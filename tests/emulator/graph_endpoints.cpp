#include "tests/emulator/graph_endpoints.hpp"

#include "core/graph/managed_device_properties.hpp"
#include "tests/emulator/device_list.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <ctime>
#include <vector>

namespace ig::test::emu {

namespace {

using st = http::status;

bool iequals(std::string_view a, std::string_view b) { return to_lower(a) == to_lower(b); }

// Properties of the devices file that are emulator settings, never Graph properties.
bool internal_property(std::string_view k) {
  return k == "fault" || k == "detectedApps" || k == "apps_next_link_host" || k == "apps_page_size";
}

std::optional<std::string> query_param(boost::urls::url_view target, std::string_view name) {
  for (auto p : target.params(boost::urls::encoding_opts(true))) {
    auto key = to_lower(p.key);
    if (key == name || (key.size() > 1 && key[0] == '$' && key.substr(1) == name)) return std::string(p.value);
  }
  return std::nullopt;
}

std::string trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return std::string(s);
}

std::vector<std::string> split_commas(std::string_view s) {
  std::vector<std::string> out;
  while (true) {
    auto c = s.find(',');
    if (auto t = trim(s.substr(0, c)); !t.empty()) out.push_back(t);
    if (c == std::string_view::npos) break;
    s.remove_prefix(c + 1);
  }
  return out;
}

std::string sha256_hex(std::string_view s, std::size_t len) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(s.data(), s.size(), md, &n, EVP_sha256(), nullptr);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < n && out.size() < len; ++i) {
    out += hex[md[i] >> 4];
    out += hex[md[i] & 0x0f];
  }
  return out.substr(0, len);
}

std::string app_platform(const nlohmann::json& device) {
  auto os = to_lower(device.value("operatingSystem", ""));
  if (os.find("windows") != std::string::npos) return "windows";
  if (os.find("mac") != std::string::npos) return "macOS";
  if (os == "ios" || os == "ipados") return "ios";
  if (os.find("android") != std::string::npos) return "androidWorkProfile";
  return "unknown";
}

response chunked(response res) {
  res.erase(http::field::content_length);
  res.chunked(true);
  return res;
}

response graph_ok(const request& req, const nlohmann::json& body) {
  auto res = json_response(req, st::ok, body, odata_json);
  auto crid = client_request_id(req);
  auto rid = new_uuid();
  res.set("request-id", rid);
  res.set("client-request-id", crid);
  res.set("x-ms-ags-diagnostic", R"({"ServerInfo":{"DataCenter":"Emulator","Slice":"E","Ring":"0","ScaleUnit":"000","RoleInstance":"EMU"}})");
  res.set(http::field::strict_transport_security, "max-age=31536000");
  res.set("odata-version", "4.0");
  return chunked(std::move(res));
}

// The HTTP-date `secs` seconds from now (RFC 9110 IMF-fixdate; whole seconds, rounded up).
std::string http_date_in(double secs) {
  auto t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now()) +
           static_cast<std::time_t>(std::ceil(secs));
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

// Graph's throttling answer as its throttling guidance shows it (learn.microsoft.com/graph/throttling,
// "Sample response": 429, Retry-After: 2.128, code TooManyRequests with an innerError code "429").
response throttled(const request& req) {
  auto res = odata_error(req, st::too_many_requests, "TooManyRequests", "Please retry again later.");
  auto body = nlohmann::json::parse(res.body());
  auto& inner = body["error"]["innerError"];
  inner["code"] = "429";
  inner["message"] = "Please retry after";
  inner["status"] = "429";
  res.body() = body.dump();
  res.prepare_payload();
  return res;
}

response fault_response(const request& req, const fault& f, std::string_view device_id) {
  auto status = static_cast<st>(f.status);
  std::string_view code = "UnknownError", message = "An error occurred.";
  response res;
  if (f.body == "intune_forbidden") {
    res = intune_error(req, status, "UnknownError",
                       "DeviceFE/StatelessDeviceFEService/deviceManagement/managedDevices('" + std::string(device_id) +
                           "')",
                       true);
  } else if (f.status == 429) {
    res = throttled(req);
  }
  switch (f.status) {
    case 429: code = "TooManyRequests"; message = "Too many requests."; break;
    case 500: code = "InternalServerError"; message = "An internal server error occurred."; break;
    case 502: code = "BadGateway"; message = "Bad gateway."; break;
    case 503: code = "ServiceUnavailable"; message = "The service is temporarily unavailable."; break;
    case 504: code = "GatewayTimeout"; message = "The gateway timed out."; break;
    case 400: code = "BadRequest"; message = "Bad request."; break;
    case 401: code = "InvalidAuthenticationToken"; message = "Access token has expired or is not yet valid."; break;
    case 403: code = "Authorization_RequestDenied"; message = "Insufficient privileges to complete the operation."; break;
    case 404: code = "ResourceNotFound"; message = "Resource not found"; break;
    default: break;
  }
  if (res.body().empty()) res = odata_error(req, status, code, message);
  if (!f.retry_after.empty()) res.set(http::field::retry_after, f.retry_after);
  else if (f.retry_after_date >= 0) res.set(http::field::retry_after, http_date_in(f.retry_after_date));
  return res;
}

// A hostile Graph: the JSON object in res's body gets a first member nested `levels` arrays deep.
// A list page's first device gets the "deep" member (the sync dumps each item again).
void add_deep_member_to_first_item(response& res, int levels) {
  auto& body = res.body();
  const auto at = body.find("\"value\":[{");
  if (at == std::string::npos) return;
  const auto n = static_cast<std::size_t>(levels);
  body.insert(at + 10, std::string("\"deep\":") + std::string(n, '[') + std::string(n, ']') + ",");
  res.prepare_payload();
}

void add_deep_member(response& res, int levels) {
  auto& body = res.body();
  if (body.empty() || body.front() != '{') return;
  const auto n = static_cast<std::size_t>(levels);
  body.insert(1, std::string("\"deep\":") + std::string(n, '[') + std::string(n, ']') + (body.size() > 2 ? "," : ""));
  res.prepare_payload();
}

response html_body(const request& req) {
  response res{st::ok, req.version()};
  res.set(http::field::content_type, "text/html; charset=utf-8");
  res.set(http::field::date, rfc1123_now());
  res.keep_alive(req.keep_alive());
  res.body() = "<!DOCTYPE html><html><head><title>Service Unavailable</title></head>"
               "<body><h1>Our services aren't available right now</h1></body></html>";
  res.prepare_payload();
  return res;
}

std::optional<response> check_bearer(const request& req, emulator_state& state) {
  auto auth = req[http::field::authorization];
  std::string_view token;
  if (auth.size() > 7 && iequals(auth.substr(0, 7), "bearer ")) token = auth.substr(7);
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  if (!token.empty() && state.token_valid(token)) return std::nullopt;
  auto res = odata_error(req, st::unauthorized, "InvalidAuthenticationToken",
                         token.empty() ? "Access token is empty." : "Access token has expired or is not yet valid.");
  res.set(http::field::www_authenticate,
          R"(Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000")");
  return res;
}

response device_body(const request& req, boost::urls::url_view target, const nlohmann::json& device, bool no_state,
                     bool v1) {
  nlohmann::json body = nlohmann::json::object();
  std::string context = "https://graph.microsoft.com/v1.0/$metadata#deviceManagement/managedDevices";
  if (auto select = query_param(target, "select"); select && !trim(*select).empty()) {
    auto names = split_commas(*select);
    // v1.0 refuses a $select of a property its managedDevice does not have (beta-only names such as
    // ownerType included), with this message (quoted for mobileApp in
    // microsoftgraph/microsoft-graph-docs-contrib#4529; sample in tests/fixtures/graph/).
    if (v1) {
      for (auto& n : names) {
        if (!ig::v1_device_property(n))
          return odata_error(req, st::bad_request, "BadRequest",
                             "Parsing OData Select and Expand failed: Could not find a property named '" +
                                 n.substr(0, 100) + "' on type 'microsoft.graph.managedDevice'.");
      }
    }
    body["id"] = device.value("id", "");
    for (auto& n : names) {
      if (n == "id") continue;
      auto it = device.find(n);
      // Graph returns every selected property, null when the device has no value.
      body[n] = it != device.end() && !internal_property(n) ? *it : nlohmann::json(nullptr);
    }
    std::string list;
    for (auto& n : names) list += (list.empty() ? "" : ",") + n;
    context += "(" + list + ")";
  } else {
    for (auto& [k, v] : device.items())
      if (!internal_property(k)) body[k] = v;
  }
  if (no_state) body.erase("complianceState");
  body["@odata.context"] = context + "/$entity";
  return graph_ok(req, body);
}

std::optional<std::size_t> parse_skiptoken(std::string_view token) {
  auto raw = base64url_decode(token);
  if (!raw || raw->rfind("emu:", 0) != 0 || raw->size() > 14) return std::nullopt;
  std::size_t n = 0;
  for (char c : raw->substr(4)) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<std::size_t>(c - '0');
  }
  return n;
}

response apps_body(const request& req, boost::urls::url_view target, const nlohmann::json& device,
                   const std::string& link_origin, int page_size) {
  std::size_t offset = 0;
  if (auto tok = query_param(target, "skiptoken")) {
    auto parsed = parse_skiptoken(*tok);
    if (!parsed) return odata_error(req, st::bad_request, "BadRequest", "Invalid skip token.");
    offset = *parsed;
  }
  const std::string id = device.value("id", "");
  const auto apps = device.value("detectedApps", nlohmann::json::array());
  page_size = std::max(1, device.value("apps_page_size", page_size));  // a device may set its own
  nlohmann::json value = nlohmann::json::array();
  const std::size_t end = std::min(apps.size(), offset + static_cast<std::size_t>(page_size));
  for (std::size_t i = offset; i < end; ++i) {
    const auto& a = apps[i];
    if (!a.is_object()) continue;
    auto name = a.value("displayName", ""), version = a.value("version", "");
    value.push_back({{"id", a.value("id", sha256_hex(id + "|" + name + "|" + version, 44))},
                     {"displayName", name},
                     {"version", version},
                     {"publisher", a.contains("publisher") ? a.at("publisher") : nlohmann::json(nullptr)},
                     {"sizeInByte", a.value("sizeInByte", std::int64_t{0})},
                     {"deviceCount", 1},
                     {"platform", a.value("platform", app_platform(device))}});
  }
  nlohmann::json body = {
      {"@odata.context", "https://graph.microsoft.com/beta/$metadata#deviceManagement/managedDevices('" + id +
                             "')/detectedApps"},
      {"value", value}};
  if (end < apps.size()) {
    auto origin = link_origin;
    if (offset == 0 && device.contains("apps_next_link_host") && device.at("apps_next_link_host").is_string())
      origin = device.at("apps_next_link_host").get<std::string>();
    body["@odata.nextLink"] = origin + "/beta/deviceManagement/managedDevices/" + id +
                              "/detectedApps?$skiptoken=" + base64url_encode("emu:" + std::to_string(end));
  }
  return graph_ok(req, body);
}

}  // namespace

reply handle_graph(const request& req, boost::urls::url_view target, const std::string& link_origin,
                   emulator_state& state) {
  state.count_graph_request();
  std::vector<std::string> seg;
  for (auto s : target.segments()) {
    if (seg.size() > 8) break;
    seg.push_back(s);
  }
  const bool v1 = seg.size() == 4 && seg[0] == "v1.0";
  const bool apps = seg.size() == 5 && seg[0] == "beta" && iequals(seg[4], "detectedApps");
  const bool device_route = (v1 || (seg.size() == 4 && seg[0] == "beta")) && iequals(seg[1], "deviceManagement") &&
                            iequals(seg[2], "managedDevices");
  const bool apps_route = apps && iequals(seg[1], "deviceManagement") && iequals(seg[2], "managedDevices");
  const bool list_route = is_device_list_route(seg);
  if (!device_route && !apps_route && !list_route) {
    auto last = seg.empty() ? std::string() : seg.back().substr(0, 64);
    return reply{odata_error(req, st::bad_request, "BadRequest", "Resource not found for the segment '" + last + "'.")};
  }
  const std::string id = list_route ? std::string("list") : seg[3];  // a fault keyed "list" hits the list only
  if (list_route) state.count_list_request();
  else if (apps_route) state.count_app_request();
  else state.count_device_request(is_guid(id) ? to_lower(id) : std::string("(invalid)"));

  if (req.method() != http::verb::get)
    return reply{odata_error(req, st::method_not_allowed, "Request_BadRequest",
                             "The request method is not supported for this resource.")};

  reply r;
  std::optional<fault> f = is_guid(id) || list_route ? state.take_fault(id) : state.take_fault("*");
  if (f && f->apps_only && !apps_route) f.reset();
  if (f) {
    r.delay = std::chrono::milliseconds(f->latency_ms);
    if (f->drop) {
      r.drop = true;
      return r;
    }
    if (f->status != 0) {
      r.res = fault_response(req, *f, is_guid(id) ? to_lower(id) : std::string("00000000-0000-0000-0000-000000000000"));
      if (f->deep_json > 0) add_deep_member(r.res, f->deep_json);
      return r;
    }
  }
  if (auto unauthorized = check_bearer(req, state)) {
    r.res = std::move(*unauthorized);
    return r;
  }
  if (list_route) {
    r.res = device_list_page(req, target, link_origin, state, f ? &*f : nullptr);
    if (f && f->deep_json > 0) add_deep_member_to_first_item(r.res, f->deep_json);
    return r;
  }
  if (!is_guid(id)) {
    r.res = odata_error(req, st::bad_request, "BadRequest", "Invalid key value: the device id is not a valid Guid.");
    return r;
  }
  auto device = state.device(id);
  if (!device) {
    // Intune's 404: the message is a JSON document (see intune_error).
    r.res = intune_error(req, st::not_found, "ResourceNotFound",
                         "DeviceFE/StatelessDeviceFEService/deviceManagement/managedDevices('" + to_lower(id) + "')");
    return r;
  }
  if (f && f->non_json) {
    r.res = html_body(req);
    return r;
  }
  r.res = apps_route ? apps_body(req, target, *device, link_origin, state.apps_page_size())
                     : device_body(req, target, *device, f && f->no_state, v1);
  if (f && f->deep_json > 0) add_deep_member(r.res, f->deep_json);
  return r;
}

}  // namespace ig::test::emu
