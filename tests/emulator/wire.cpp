#include "tests/emulator/wire.hpp"

#include "core/tls/openssl_ptr.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <memory>
#include <cctype>
#include <ctime>
#include <stdexcept>
#include <vector>

namespace ig::test::emu {

namespace {

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1)
    throw std::runtime_error("RAND_bytes failed");
  return out;
}

std::string format_utc(const char* fmt) {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, fmt, &tm);
  return buf;
}

}  // namespace

std::string new_uuid() {
  auto b = random_bytes(16);
  b[6] = static_cast<char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<char>((b[8] & 0x3f) | 0x80);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    auto c = static_cast<unsigned char>(b[i]);
    out += hex[c >> 4];
    out += hex[c & 0x0f];
  }
  return out;
}

std::string random_opaque(std::size_t bytes) { return base64url_encode(random_bytes(bytes)); }


std::optional<std::string> base64_decode(std::string_view text) {
  std::string b64(text);
  if (b64.size() % 4 == 1) return std::nullopt;
  while (b64.size() % 4 != 0) b64 += '=';
  std::unique_ptr<EVP_ENCODE_CTX, OpenSslFree<EVP_ENCODE_CTX_free>> ctx(EVP_ENCODE_CTX_new());
  if (!ctx) return std::nullopt;
  std::string out(b64.size(), '\0');
  int n1 = 0, n2 = 0;
  EVP_DecodeInit(ctx.get());
  if (EVP_DecodeUpdate(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &n1,
                       reinterpret_cast<const unsigned char*>(b64.data()), static_cast<int>(b64.size())) < 0)
    return std::nullopt;
  if (EVP_DecodeFinal(ctx.get(), reinterpret_cast<unsigned char*>(out.data()) + n1, &n2) != 1) return std::nullopt;
  out.resize(static_cast<std::size_t>(n1 + n2));
  return out;
}


std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}


std::string utc_timestamp() { return format_utc("%Y-%m-%d %H:%M:%SZ"); }
std::string graph_now() { return format_utc("%Y-%m-%dT%H:%M:%SZ"); }
std::string rfc1123_now() { return format_utc("%a, %d %b %Y %H:%M:%S GMT"); }

std::string client_request_id(const request& req) {
  auto it = req.find("client-request-id");
  if (it != req.end() && is_guid(it->value())) return std::string(it->value());
  return new_uuid();
}

response json_response(const request& req, http::status status, const nlohmann::json& body,
                       std::string_view content_type) {
  response res{status, req.version()};
  res.set(http::field::server, "Microsoft-IIS/10.0");
  res.set(http::field::date, rfc1123_now());
  res.set(http::field::content_type, content_type);
  res.set(http::field::cache_control, "no-store, no-cache");
  res.keep_alive(req.keep_alive());
  res.body() = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  res.prepare_payload();
  return res;
}

// Both error_description forms are Entra ID's: one line (current v2.0 endpoint; e.g. AADSTS7000215 in
// the Azure SDK for Java troubleshooting guide) and CR LF separated (older answers, e.g. AADSTS50013
// quoted in AzureAD/microsoft-authentication-library-for-dotnet#1317 and AADSTS7000218 in
// Azure-Samples/active-directory-dotnet-webapi-manual-jwt-validation#43).
response aad_error(const request& req, http::status status, std::string_view error, int code,
                   std::string_view text, bool crlf) {
  auto trace = new_uuid(), correlation = new_uuid(), ts = utc_timestamp();
  const std::string sep = crlf ? "\r\n" : " ";
  nlohmann::json body = {
      {"error", error},
      {"error_description", "AADSTS" + std::to_string(code) + ": " + std::string(text) + sep + "Trace ID: " + trace +
                                sep + "Correlation ID: " + correlation + sep + "Timestamp: " + ts},
      {"error_codes", {code}},
      {"timestamp", ts},
      {"trace_id", trace},
      {"correlation_id", correlation},
      {"error_uri", "https://login.microsoftonline.com/error?code=" + std::to_string(code)}};
  auto res = json_response(req, status, body);
  res.set("x-ms-request-id", trace);
  res.prepare_payload();
  return res;
}

response odata_error(const request& req, http::status status, std::string_view code, std::string_view message) {
  auto request_id = new_uuid(), crid = client_request_id(req);
  nlohmann::json body = {
      {"error",
       {{"code", code},
        {"message", message},
        {"innerError", {{"date", format_utc("%Y-%m-%dT%H:%M:%S")}, {"request-id", request_id},
                        {"client-request-id", crid}}}}}};
  auto res = json_response(req, status, body, "application/json");
  res.set("request-id", request_id);
  res.set("client-request-id", crid);
  res.set("x-ms-ags-diagnostic", R"({"ServerInfo":{"DataCenter":"Emulator","Slice":"E","Ring":"0","ScaleUnit":"000","RoleInstance":"EMU"}})");
  res.prepare_payload();
  return res;
}

// The shapes are Intune's as quoted in public reports: 401 UnknownError/Forbidden for a missing
// permission (AzureAD/microsoft-authentication-library-for-js#7007, microsoftgraph/msgraph-sdk-powershell#1257)
// and 404 ResourceNotFound (ThomasKur/IntuneDocumentation#39). Samples: tests/fixtures/graph/.
response intune_error(const request& req, http::status status, std::string_view code, std::string_view intune_path,
                      bool forbidden_wrapper) {
  const auto activity = client_request_id(req);
  const std::string url = "https://fef.msub01.manage.microsoft.com/" + std::string(intune_path) + "?api-version=2023-07-04";
  // Intune writes this document indented, with CR LF line breaks.
  std::string inner = "{\r\n  \"_version\": 3,\r\n  \"Message\": " +
                      nlohmann::json("An error has occurred - Operation ID (for customer support): "
                                     "00000000-0000-0000-0000-000000000000 - Activity ID: " + activity +
                                     " - Url: " + url).dump() +
                      ",\r\n  \"CustomApiErrorPhrase\": \"\",\r\n  \"RetryAfter\": null,\r\n  "
                      "\"ErrorSourceService\": \"\",\r\n  \"HttpHeaders\": \"{}\"\r\n}";
  if (forbidden_wrapper) {
    nlohmann::json wrapper = {{"ErrorCode", "Forbidden"}, {"Message", inner}, {"Target", nullptr},
                              {"Details", nullptr}, {"InnerError", nullptr},
                              {"InstanceAnnotations", nlohmann::json::array()}};
    inner = wrapper.dump();
  }
  return odata_error(req, status, code, inner);
}

}  // namespace ig::test::emu
