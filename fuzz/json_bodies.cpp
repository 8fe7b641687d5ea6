// The JSON bodies that come from outside: a Graph device (the decision and the saved properties),
// Graph error bodies under every status, detectedApps pages, and the token endpoint's answer and
// error bodies. Collection pages also go through the Entra ID filter answer's exactly-one guard and
// the changes sync's guard against an ignored filter.
// Input: one byte that picks the handler (and the status), then the body.
#include "core/graph/changes_sync.hpp"
#include "core/graph/entra_lookup.hpp"
#include "core/graph/graph_client.hpp"
#include "core/graph/odata_pager.hpp"
#include "core/graph/token_source.hpp"
#include "core/identity/device_id.hpp"
#include "core/policy/facts.hpp"
#include "core/text/outside_json.hpp"
#include "core/verdict/decision.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>

namespace {

void require(bool ok) {
    if (!ok) std::abort();
}

bool one_line(const std::string& s) { return s.find_first_of(std::string_view("\r\n\0", 3)) == std::string::npos; }

bool printable(const std::string& s, std::size_t max_len) {
    if (s.size() > max_len) return false;
    for (unsigned char c : s)
        if (c < 0x20 || c >= 0x7f) return false;
    return true;
}

void check_verdict(const ig::Verdict& v) {
    require(one_line(v.reason));
    require(printable(v.compliance_state, 64));
    if (!v.device_json.empty()) {
        // Saved properties go out base64url-encoded; they must be one JSON object.
        auto again = ig::parse_outside_json(v.device_json);
        require(again.doc && again.doc->is_object());
    }
}

void device(const std::string& body) {
    static const ig::IntuneConfig plain;
    static const ig::IntuneConfig save_all = [] {
        ig::IntuneConfig c;
        c.save_device_properties = true;
        return c;
    }();
    static const ig::IntuneConfig save_some = [] {
        ig::IntuneConfig c;
        c.save_device_properties = true;
        c.device_properties = {"deviceName", "hardwareInformation", "complianceState", ""};
        return c;
    }();
    ig::GraphReply reply;
    reply.kind = ig::GraphReply::Kind::Answered;
    reply.status = 200;
    reply.body = body;
    for (const auto* config : {&plain, &save_all, &save_some}) {
        auto v = ig::verdict_for_reply(reply, *config);
        check_verdict(v);
        if (!config->save_device_properties) require(v.device_json.empty());
    }
}

void error_body(unsigned status, const std::string& body) {
    if (auto e = ig::parse_odata_error(body)) {
        require(printable(e->code, 80));
        require(printable(e->request_id, 80));
        require(one_line(e->message) && e->message.size() <= 200);
    }
    ig::GraphReply reply;
    reply.kind = ig::GraphReply::Kind::Answered;
    reply.status = status;
    reply.body = body;
    auto v = ig::verdict_for_reply(reply, ig::IntuneConfig{});
    check_verdict(v);
    require(v.device_json.empty());
}

void apps_page(const std::string& body) {
    auto apps = nlohmann::json::array();
    apps.push_back({{"displayName", "kept"}, {"version", "1"}, {"publisher", ""}});
    auto page = ig::parse_collection_page(body);
    if (!page.error.empty()) require(one_line(page.error) && page.value.empty());
    require(page.value.is_array());
    ig::add_apps(page.value, apps);
    require(apps.is_array() && !apps.empty());
    for (const auto& app : apps) {
        require(app.is_object() && app.size() == 3);
        for (const char* key : {"displayName", "version", "publisher"}) require(app.at(key).is_string());
    }
    // What the gateway sends on is the dump of these.
    (void)apps.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// The guard never takes a device that is not the one device of the answer with that Entra ID.
void entra_answer(const std::string& body) {
    static const std::string entra = "a4e3c2b1-0d9e-4f8a-9b7c-6d5e4f3a2b1c";
    auto m = ig::match_entra_answer(body, entra);
    if (m.kind != ig::EntraMatch::Kind::One) {
        require(m.device.empty() && m.intune_id.empty() && one_line(m.why));
        return;
    }
    auto device = ig::parse_outside_json(m.device);
    require(device.doc && device.doc->is_object());
    auto aad = device.doc->find("azureADDeviceId");
    require(aad != device.doc->end() && aad->is_string() && ig::normalize_guid(aad->get<std::string>()) == entra);
    require(ig::normalize_guid(m.intune_id) == m.intune_id);
}

// The changes sync's guard (README: sync.changes_interval_s): a page passes only when every device
// in it has a readable lastSyncDateTime not before T; its reason is one line.
void changes_answer(const std::string& body) {
    constexpr std::int64_t since = 1796320200000;  // 2026-12-03T17:50:00Z
    auto page = ig::parse_collection_page(body);
    if (!page.error.empty()) return;
    auto why = ig::changes_guard(page.value, since);
    require(one_line(why));
    if (!why.empty()) return;
    for (const auto& device : page.value) {
        require(device.is_object());
        auto at = ig::parse_graph_time(device.at("lastSyncDateTime").get<std::string>());
        require(at && *at >= since);
    }
}

void token_answer(const std::string& body) {
    auto a = ig::parse_token_answer(body);
    if (a.error.empty()) {
        require(!a.token.empty() && printable(a.token, 16384) && a.token.find(' ') == std::string::npos);
        require(a.expires_in >= 0 && a.expires_in <= 86400);
    } else {
        require(a.token.empty() && one_line(a.error));
    }
    // The same endpoint's error bodies (Entra ID's AADSTS answers).
    auto e = ig::parse_aad_error(body);
    for (const auto* part : {&e.error, &e.description, &e.trace_id, &e.correlation_id}) require(one_line(*part));
    require(printable(e.trace_id, 64) && printable(e.correlation_id, 64));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    static constexpr unsigned statuses[] = {400, 401, 403, 404, 429, 500, 503, 302};
    const std::string body(reinterpret_cast<const char*>(data + 1), size - 1);
    switch (data[0] % 4) {
        case 0: device(body); break;
        case 1: error_body(statuses[(data[0] / 4) % std::size(statuses)], body); break;
        case 2:
            apps_page(body);
            entra_answer(body);
            changes_answer(body);
            break;
        case 3: token_answer(body); break;
    }
    return 0;
}
