// Fidelity to Microsoft's real services: the core against the emulator's documented forms and the
// real sample bodies in tests/fixtures/ (Retry-After with a fraction or a date, Intune's 401
// Forbidden, header caps, $select of unknown properties, diagnostics ids).
#define BOOST_TEST_MODULE fidelity
#include <boost/test/unit_test.hpp>

#include "core/graph/graph_client.hpp"
#include "core/graph/token_source.hpp"
#include "core/text/header_cap.hpp"
#include "core/verdict/decision.hpp"
#include "tests/support/core_env.hpp"

#include <fstream>
#include <sstream>

using namespace ig;
using namespace ig::test::core;
using namespace std::chrono_literals;

namespace {

double elapsed_ms(Clock::time_point since) {
    return std::chrono::duration<double, std::milli>(Clock::now() - since).count();
}

std::string fixture(const std::string& name) {
    std::ifstream in(std::string(IG_SOURCE_DIR) + "/tests/fixtures/" + name, std::ios::binary);
    BOOST_REQUIRE_MESSAGE(in, "cannot read fixture " << name);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

bool contains(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

}  // namespace

// ---- Retry-After ---------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(fractional_retry_after_is_waited_for) {
    Env env;
    env.check(guid("3302"));  // token and connection ready
    env.emulator.set_fault(guid("3301"), {{"status", 429}, {"retry_after", 1.5}, {"times", 1}});
    const auto t0 = Clock::now();
    auto v = env.check(guid("3301"));
    BOOST_TEST(to_string(v.outcome) == "Compliant", v.reason);
    BOOST_TEST(elapsed_ms(t0) >= 1500);  // not the 100 ms backoff: Graph asked for 1.5 s
    BOOST_TEST(env.device_requests(guid("3301")) == 2);
}

BOOST_AUTO_TEST_CASE(http_date_retry_after_is_waited_for) {
    Env env;
    env.check(guid("3302"));
    env.emulator.set_fault(guid("3301"), {{"status", 503}, {"retry_after_date", 2}, {"times", 1}});
    const auto t0 = Clock::now();
    auto v = env.check(guid("3301"));
    BOOST_TEST(to_string(v.outcome) == "Compliant", v.reason);
    BOOST_TEST(elapsed_ms(t0) >= 1000);  // a date two seconds ahead, to the whole second
    BOOST_TEST(env.device_requests(guid("3301")) == 2);
}

BOOST_AUTO_TEST_CASE(retry_after_the_deadline_cannot_honour_gives_error_never_an_early_retry) {
    Env env;
    env.config.timeout = 3000ms;
    env.check(guid("3302"));
    // Graph's documented sample value, on every answer: one wait of 2.128 s fits, the second does not.
    env.emulator.set_fault(guid("3301"), {{"status", 429}, {"retry_after", "2.128"}});
    const auto t0 = Clock::now();
    auto v = env.check(guid("3301"));
    const double took = elapsed_ms(t0);
    BOOST_TEST(to_string(v.outcome) == "Error");
    BOOST_TEST(contains(v.reason, "429"), v.reason);
    BOOST_TEST(took >= 2128);
    BOOST_TEST(env.device_requests(guid("3301")) == 2);  // never sooner than asked
}

// ---- Intune's 401 ----------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(intune_forbidden_401_is_no_reason_for_new_tokens) {
    Env env;
    env.emulator.set_fault("*", {{"status", 401}, {"body", "intune_forbidden"}});
    Verdict last;
    for (int i = 0; i < 10; ++i) {
        last = env.check(guid("3301"));
        BOOST_TEST(to_string(last.outcome) == "Error");
    }
    BOOST_TEST(env.stat("token_requests") == 1);  // not one per lookup
    BOOST_TEST(env.device_requests(guid("3301")) == 10);  // one Graph call per lookup, no retry
    // The log line says what the admin has to fix, not "graph refused the token".
    BOOST_TEST_MESSAGE("reason: " << last.reason);
    BOOST_TEST(contains(last.reason, "Intune denied access (HTTP 401 UnknownError/Forbidden"), last.reason);
    BOOST_TEST(contains(last.reason, "DeviceManagementManagedDevices.Read.All"), last.reason);
    BOOST_TEST(contains(last.reason, "Intune role"), last.reason);
    BOOST_TEST(contains(last.reason, "request-id "), last.reason);
    BOOST_TEST(!contains(last.reason, "refused the token"), last.reason);
}

BOOST_AUTO_TEST_CASE(invalid_token_401_gets_one_new_token_per_interval) {
    Env env;
    env.emulator.set_fault("*", {{"status", 401}});  // InvalidAuthenticationToken, whatever the token
    for (int i = 0; i < 10; ++i) BOOST_TEST(to_string(env.check(guid("3301")).outcome) == "Error");
    BOOST_TEST(env.stat("token_requests") == 2);  // the first, then one forced refresh for the process
    BOOST_TEST(env.device_requests(guid("3301")) == 11);
}

// ---- header caps -----------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(three_hundred_apps_fit_the_header_cap) {
    Env env;
    env.config.save_installed_apps = true;
    auto v = env.check(guid("3403"));
    BOOST_TEST(to_string(v.outcome) == "Compliant");
    BOOST_REQUIRE(v.apps_json.has_value());
    BOOST_REQUIRE(v.apps_truncated.has_value());
    BOOST_TEST(*v.apps_truncated == 300u);
    BOOST_TEST(header_line_bytes(apps_header, v.apps_json->size()) <= 8192u);
    auto apps = nlohmann::json::parse(*v.apps_json);
    BOOST_REQUIRE(apps.is_array());
    BOOST_TEST(apps.size() > 20u);
    BOOST_TEST(apps.size() < 300u);
    for (std::size_t i = 0; i < apps.size(); ++i)  // whole entries, in Graph's order
        BOOST_TEST(apps[i].value("displayName", "") == "app-number-" + std::to_string(i));
    // A small device is not marked.
    auto small = env.check(guid("3401"));
    BOOST_TEST(!small.apps_truncated.has_value());
}

BOOST_AUTO_TEST_CASE(cap_keeps_whole_entries_of_arrays_and_objects) {
    auto arr = nlohmann::json::array();
    for (int i = 0; i < 300; ++i) arr.push_back({{"displayName", "App " + std::to_string(i)}, {"version", "1.0"}});
    for (std::size_t cap : {256u, 1000u, 8192u}) {
        BOOST_TEST_CONTEXT("cap " << cap) {
            auto c = cap_json_header(arr, apps_header, cap);
            BOOST_TEST(header_line_bytes(apps_header, c.json.size()) <= cap);
            auto back = nlohmann::json::parse(c.json);
            BOOST_TEST(back.is_array());
            BOOST_TEST((c.total == std::optional<std::size_t>(300)));
            for (std::size_t i = 0; i < back.size(); ++i) BOOST_TEST(back[i] == arr[i]);
            // One more entry would not have fit.
            auto more = back;
            more.push_back(arr[back.size()]);
            BOOST_TEST(header_line_bytes(apps_header, more.dump().size()) > cap);
        }
    }
    auto fits = cap_json_header(nlohmann::json::array({1, 2}), apps_header, 256);
    BOOST_TEST(fits.json == "[1,2]");
    BOOST_TEST(!fits.total.has_value());
    nlohmann::json obj = {{"a", std::string(100, 'x')}, {"b", std::string(100, 'y')}, {"c", std::string(300, 'z')}};
    auto o = cap_json_header(obj, device_header, 400);
    auto ob = nlohmann::json::parse(o.json);
    BOOST_TEST(ob.size() == 2u);
    BOOST_TEST(ob["a"] == obj["a"]);
    BOOST_TEST((o.total == std::optional<std::size_t>(3)));
}

BOOST_AUTO_TEST_CASE(device_header_is_capped_and_odata_annotations_left_out) {
    GraphReply r;
    r.kind = GraphReply::Kind::Answered;
    r.status = 200;
    nlohmann::json dev = {{"@odata.context", "https://graph.microsoft.com/v1.0/$metadata#x"},
                          {"@odata.type", "#microsoft.graph.managedDevice"},
                          {"complianceState", "compliant"},
                          {"notes", std::string(9000, 'n')},
                          {"deviceName", "pc"}};
    r.body = dev.dump();
    IntuneConfig c;
    c.save_device_properties = true;
    auto v = verdict_for_reply(r, c);
    auto saved = nlohmann::json::parse(v.device_json);
    BOOST_TEST(!saved.contains("@odata.context"));
    BOOST_TEST(!saved.contains("@odata.type"));
    BOOST_TEST(saved.value("complianceState", "") == "compliant");
    BOOST_TEST(saved.value("deviceName", "") == "pc");
    BOOST_TEST(!saved.contains("notes"));  // too big for the cap: left out, and said so
    BOOST_TEST((v.device_truncated == std::optional<std::size_t>(3)));
    BOOST_TEST(header_line_bytes(device_header, v.device_json.size()) <= 8192u);
}

// ---- $select and 404 forms ---------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(select_of_a_beta_only_property_is_a_400_error) {
    // What a config check now prevents: the core itself does not guess, Graph (here the emulator) decides.
    Env env;
    env.config.save_device_properties = true;
    env.config.device_properties = {"ownerType"};
    auto v = env.check(guid("3301"));
    BOOST_TEST(to_string(v.outcome) == "Error");
    BOOST_TEST(contains(v.reason, "HTTP 400 BadRequest"), v.reason);
    BOOST_TEST(contains(v.reason, "Could not find a property named 'ownerType'"), v.reason);
}

BOOST_AUTO_TEST_CASE(intune_404_body_still_means_not_found) {
    Env env;
    auto v = env.check(guid("3308"));
    BOOST_TEST(to_string(v.outcome) == "NotCompliant");
}

// ---- diagnostics -------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(client_request_id_is_the_request_id_and_ids_stay_in_the_reason) {
    Env env;
    env.emulator.set_fault(guid("3301"), {{"status", 400}});
    auto v = env.check(guid("3301"), "0123456789abcdef0123456789ABCDEF");
    BOOST_TEST(to_string(v.outcome) == "Error");
    // The emulator echoes the client-request-id Graph got; the reason keeps it and Graph's request-id.
    BOOST_TEST(contains(v.reason, "client-request-id 01234567-89ab-cdef-0123-456789abcdef"), v.reason);
    BOOST_TEST(contains(v.reason, "; request-id "), v.reason);
    BOOST_TEST(client_request_id_for("0123456789abcdef0123456789abcdef") == "01234567-89ab-cdef-0123-456789abcdef");
    BOOST_TEST(client_request_id_for("not-an-id").empty());
    BOOST_TEST(client_request_id_for("0123456789abcdef0123456789abcdeg").empty());
}

BOOST_AUTO_TEST_CASE(token_refusal_keeps_trace_and_correlation_id) {
    Env env;
    env.config.client_secret.value = "wrong-s3cret+/= x";
    auto v = env.check(guid("3301"));
    BOOST_TEST(to_string(v.outcome) == "Error");
    BOOST_TEST(contains(v.reason, "AADSTS7000215"), v.reason);
    BOOST_TEST(contains(v.reason, "(trace-id "), v.reason);
    BOOST_TEST(contains(v.reason, ", correlation-id "), v.reason);
    BOOST_TEST(!contains(v.reason, "wrong-s3cret"), v.reason);
}

// ---- the core's parsers over Microsoft's real bodies ---------------------------------------------------

BOOST_AUTO_TEST_CASE(parsers_read_real_graph_bodies) {
    auto throttled = parse_odata_error(fixture("graph/throttled-429.json"));
    BOOST_REQUIRE(throttled.has_value());
    BOOST_TEST(throttled->code == "TooManyRequests");
    BOOST_TEST(throttled->request_id == "94fb3b52-452a-4535-a601-69e0a90e3aa2");

    auto forbidden = parse_odata_error(fixture("graph/intune-forbidden-401.json"));
    BOOST_REQUIRE(forbidden.has_value());
    BOOST_TEST(forbidden->code == "UnknownError");
    BOOST_TEST(forbidden->intune_code == "Forbidden");
    BOOST_TEST(forbidden->message.rfind("An error has occurred - Operation ID", 0) == 0, forbidden->message);
    BOOST_TEST(forbidden->request_id == "c64ee84a-7c55-46ab-9181-fb075f6457a1");
    BOOST_TEST(is_access_denied(401, *forbidden));
    BOOST_TEST(!is_invalid_token(401, *forbidden));

    auto not_found = parse_odata_error(fixture("graph/intune-not-found-404.json"));
    BOOST_REQUIRE(not_found.has_value());
    BOOST_TEST(not_found->code == "ResourceNotFound");
    BOOST_TEST(not_found->intune_code.empty());
    BOOST_TEST(contains(not_found->message, "Activity ID: d4f43fa4-4791-424c-9cbf-7c4a60796465"), not_found->message);
    BOOST_TEST(not_found->client_request_id == "d4f43fa4-4111-424c-9abf-7c4a60796465");

    auto select = parse_odata_error(fixture("graph/select-unknown-property-400.json"));
    BOOST_REQUIRE(select.has_value());
    BOOST_TEST(select->code == "BadRequest");
    BOOST_TEST(contains(select->message, "Could not find a property named 'usedLicenseCount'"));

    // verdict_for_reply() over them: the forbidden body names the fix, the 404 is "not found".
    IntuneConfig c;
    GraphReply r;
    r.kind = GraphReply::Kind::Answered;
    r.status = 401;
    r.body = fixture("graph/intune-forbidden-401.json");
    auto v = verdict_for_reply(r, c);
    BOOST_TEST(contains(v.reason, "DeviceManagementManagedDevices.Read.All"), v.reason);
    BOOST_TEST(contains(v.reason, "request-id c64ee84a-7c55-46ab-9181-fb075f6457a1"), v.reason);
    r.status = 404;
    r.body = fixture("graph/intune-not-found-404.json");
    BOOST_TEST(to_string(verdict_for_reply(r, c).outcome) == "NotCompliant");
    r.status = 429;
    r.body = fixture("graph/throttled-429.json");
    r.client_request_id = "11111111-2222-4333-8444-555555555555";  // from the response header
    v = verdict_for_reply(r, c);
    BOOST_TEST(contains(v.reason, "request-id 94fb3b52-452a-4535-a601-69e0a90e3aa2"), v.reason);
    BOOST_TEST(contains(v.reason, "client-request-id 11111111-2222-4333-8444-555555555555"), v.reason);
}

BOOST_AUTO_TEST_CASE(parsers_read_real_entra_id_bodies) {
    auto one = parse_aad_error(fixture("aad/one-line-700027.json"));
    BOOST_TEST(one.error == "invalid_client");
    BOOST_TEST(one.description.rfind("AADSTS700027: Client assertion contains an invalid signature.", 0) == 0);
    BOOST_TEST(!contains(one.description, "Trace ID"));
    BOOST_TEST(one.trace_id == "1aefd40a-34ac-49a3-be3e-0e2b1c7a8d00");
    BOOST_TEST(one.correlation_id == "23f6c5a9-1ff9-4e6a-9dc8-b8b5fa539613");

    // The older form has no trace_id/correlation_id fields and CR LF in the description.
    auto crlf = parse_aad_error(fixture("aad/crlf-7000218.json"));
    BOOST_TEST(crlf.error == "invalid_client");
    BOOST_TEST(
        crlf.description ==
        "AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");
    BOOST_TEST(crlf.trace_id == "754ea136-da6b-426a-af61-015d81255c00");
    BOOST_TEST(crlf.correlation_id == "1d3945b5-1227-4ff7-873f-2785a1919e89");

    auto es = parse_aad_error(fixture("aad/es256-5002738.json"));
    BOOST_TEST(es.error == "invalid_request");
    BOOST_TEST(contains(es.description, "'ES256' is not a supported signature algorithm"));
    BOOST_TEST(es.trace_id == "62d60ed5-56c3-45a0-b960-93d4ec917d00");

    BOOST_TEST(parse_aad_error("not json").error.empty());
    BOOST_TEST(parse_aad_error(R"({"error":{"code":"x"}})").error.empty());
}
