#include "tests/emulator/token_endpoint.hpp"

#include "tests/emulator/client_assertion.hpp"
#include "tests/support/form_decode.hpp"

#include <openssl/crypto.h>

#include <map>

namespace ig::test::emu {

namespace {

constexpr std::string_view graph_scope = "https://graph.microsoft.com/.default";
constexpr std::string_view jwt_bearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

// x-www-form-urlencoded: '+' is a space, every key and value percent-decoded.
std::optional<std::map<std::string, std::string>> parse_form(std::string_view body) {
  auto fields = form_decode(body);
  if (!fields) return std::nullopt;
  std::map<std::string, std::string> form;
  for (auto& [key, value] : *fields)
    if (!form.emplace(std::move(key), std::move(value)).second) return std::nullopt;  // AAD refuses repeated parameters
  return form;
}

bool same_secret(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool scope_ok(const std::string& scope) {
  // Graph accepts the .default scope alone (plus OIDC scopes the v2 endpoint tolerates).
  bool found = false;
  std::string_view rest = scope;
  while (!rest.empty()) {
    auto sp = rest.find(' ');
    auto s = rest.substr(0, sp);
    if (s == graph_scope) found = true;
    else if (!s.empty() && s != "offline_access" && s != "openid" && s != "profile") return false;
    rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp + 1);
  }
  return found;
}

}  // namespace

reply handle_token(const request& req, std::string_view tenant, std::string_view path, emulator_state& state) {
  using st = http::status;
  auto err = [&](st s, std::string_view e, int code, std::string_view text) {
    return reply{aad_error(req, s, e, code, text, state.aad_crlf())};
  };
  // Every request here counts as a token request, whatever shape it has.
  const bool is_form = to_lower(req[http::field::content_type]).starts_with("application/x-www-form-urlencoded");
  auto form = req.method() == http::verb::post && is_form ? parse_form(req.body()) : std::nullopt;
  auto get = [&](const char* k) -> std::string {
    if (!form) return {};
    auto it = form->find(k);
    return it == form->end() ? std::string() : it->second;
  };
  const auto grant = get("grant_type");
  state.count_token_request(grant);
  // client_secret_basic (RFC 6749 §2.3.1): form-encoded id and secret in an Authorization header.
  if (auto auth = req[http::field::authorization]; form && auth.size() > 6 && to_lower(auth.substr(0, 6)) == "basic ") {
    auto decoded = base64_decode(auth.substr(6));
    auto colon = decoded ? decoded->find(':') : std::string::npos;
    if (colon == std::string::npos)
      return err(st::bad_request, "invalid_client", 7000215, "Invalid client secret provided.");
    auto id = form_decode_component(decoded->substr(0, colon)), sec = form_decode_component(decoded->substr(colon + 1));
    if (!id || !sec || (form->contains("client_id") && to_lower(form->at("client_id")) != to_lower(*id)))
      return err(st::bad_request, "invalid_request", 900144, "The client_id in the Authorization header does not match.");
    (*form)["client_id"] = *id;
    form->try_emplace("client_secret", *sec);
  }

  if (req.method() != http::verb::post)
    return err(st::method_not_allowed, "invalid_request", 900561, "The endpoint only accepts POST requests.");
  if (!is_form)
    return err(st::bad_request, "invalid_request", 900144,
               "The request body must contain the following parameter: 'grant_type'.");
  if (!form) return err(st::bad_request, "invalid_request", 90014, "The request body is not a valid form.");
  if (grant.empty())
    return err(st::bad_request, "invalid_request", 900144,
               "The request body must contain the following parameter: 'grant_type'.");
  if (grant != "client_credentials" && grant != "password")
    return err(st::bad_request, "unsupported_grant_type", 70003, "The app requested an unsupported grant type.");
  if (!state.tenant_known(tenant))
    return err(st::bad_request, "invalid_request", 90002,
               "Tenant '" + std::string(is_guid(tenant) ? tenant : "(invalid)") +
                   "' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.");

  const auto assertion = get("client_assertion");
  auto client_id = get("client_id");
  if (client_id.empty() && !assertion.empty()) client_id = assertion_issuer(assertion).value_or("");
  if (client_id.empty())
    return err(st::bad_request, "invalid_request", 900144,
               "The request body must contain the following parameter: 'client_id'.");
  const app_client* client = state.client(tenant, client_id);
  if (!client)
    return err(st::bad_request, "unauthorized_client", 700016,
               "Application with identifier '" + std::string(is_guid(client_id) ? client_id : "(invalid)") +
                   "' was not found in the directory '" + std::string(tenant) +
                   "'. This can happen if the application has not been installed by the administrator of the tenant.");

  const auto scope = get("scope");
  if (scope.empty())
    return err(st::bad_request, "invalid_request", 900144,
               "The request body must contain the following parameter: 'scope'.");
  if (!scope_ok(scope))
    return err(st::bad_request, "invalid_scope", 70011,
               "The provided request must include a 'scope' input parameter. The provided value for the input "
               "parameter 'scope' is not valid. The scope requested is not valid.");

  // Client authentication: a secret, or (client_credentials only) a signed assertion.
  if (!assertion.empty()) {
    if (get("client_assertion_type") != jwt_bearer)
      return err(st::bad_request, "invalid_request", 700023,
                 "The client_assertion_type must be 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer'.");
    if (auto alg = unsupported_algorithm(assertion))
      return err(st::bad_request, "invalid_request", 5002738,
                 "Invalid JWT token. '" + *alg + "' is not a supported signature algorithm.");
    // AADSTS700027's text as the Azure SDK for Java troubleshooting guide and
    // Azure/azure-sdk-for-net#29007 quote it.
    if (auto why = verify_client_assertion(assertion, client->certificate, client_id, path))
      return err(st::bad_request, "invalid_client", 700027,
                 "Client assertion contains an invalid signature. [Reason - " + *why + "]");
  } else {
    const auto secret = get("client_secret");
    if (secret.empty())
      return err(st::bad_request, "invalid_client", 7000218,
                 "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");
    if (client->secret.empty() || !same_secret(secret, client->secret))
      return err(st::bad_request, "invalid_client", 7000215,
                 "Invalid client secret provided. Ensure the secret being sent in the request is the client secret "
                 "value, not the client secret ID, for a secret added to app '" + client_id + "'.");
  }

  if (grant == "password") {
    const auto user = get("username"), password = get("password");
    if (user.empty() || password.empty())
      return err(st::bad_request, "invalid_request", 900144,
                 "The request body must contain the following parameter: 'username' and 'password'.");
    auto it = client->users.find(to_lower(user));
    if (it == client->users.end() || !same_secret(it->second, password))
      return err(st::bad_request, "invalid_grant", 50126,
                 "Error validating credentials due to invalid username or password.");
  }

  auto [token, expires_in] = state.issue_token();
  nlohmann::json body = {{"token_type", "Bearer"}, {"expires_in", expires_in}, {"ext_expires_in", expires_in},
                         {"access_token", token}};
  if (grant == "password") body["scope"] = "https://graph.microsoft.com/DeviceManagementManagedDevices.Read.All";
  auto res = json_response(req, st::ok, body);
  res.set(http::field::pragma, "no-cache");
  res.set("x-ms-request-id", new_uuid());
  return reply{std::move(res), std::chrono::milliseconds(state.token_latency_ms())};
}

}  // namespace ig::test::emu
