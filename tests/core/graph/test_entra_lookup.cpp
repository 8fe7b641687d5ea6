// The exactly-one guard on Graph's answer to the Entra device ID filter (README: `device_id.lookup`):
// one device with that azureADDeviceId counts, an empty collection is "not found", anything else
// (every device because the filter was ignored, two devices, a next page, another ID, no ID, not a
// collection) is ambiguous, never the first element.
#define BOOST_TEST_MODULE entra_lookup
#include <boost/test/unit_test.hpp>

#include "core/graph/entra_lookup.hpp"

#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>
#include <vector>

using namespace ig;

namespace {
const std::string entra = "a4e3c2b1-0d9e-4f8a-9b7c-6d5e4f3a2b1c";

std::string fixture(const std::string& name) {
    std::ifstream in(std::string(IG_SOURCE_DIR) + "/tests/fixtures/graph/" + name);
    std::stringstream s;
    s << in.rdbuf();
    BOOST_REQUIRE(!s.str().empty());
    return s.str();
}

nlohmann::json device(const std::string& id, const std::string& aad) {
    return {{"id", id}, {"complianceState", "compliant"}, {"azureADDeviceId", aad}};
}

std::string collection(nlohmann::json value) { return nlohmann::json{{"value", std::move(value)}}.dump(); }
}  // namespace

BOOST_AUTO_TEST_CASE(one_device_with_the_id_counts_whatever_its_case) {
    auto m = match_entra_answer(fixture("entra-filter-one-device.json"), entra);
    BOOST_TEST((m.kind == EntraMatch::Kind::One));
    BOOST_TEST(m.intune_id == "705c034c-034c-705c-4c03-5c704c035c70");
    auto d = nlohmann::json::parse(m.device);
    BOOST_TEST(d["complianceState"] == "compliant");
    BOOST_TEST(d["deviceName"] == "LAPTOP-0042");
}

BOOST_AUTO_TEST_CASE(an_empty_collection_is_not_found) {
    auto m = match_entra_answer(fixture("entra-filter-none.json"), entra);
    BOOST_TEST((m.kind == EntraMatch::Kind::None));
}

BOOST_AUTO_TEST_CASE(an_ignored_filter_is_ambiguous_even_when_the_first_device_matches) {
    auto m = match_entra_answer(fixture("entra-filter-ignored.json"), entra);
    BOOST_TEST((m.kind == EntraMatch::Kind::Ambiguous));
    BOOST_TEST(m.device.empty());
    BOOST_TEST(m.intune_id.empty());
}

BOOST_AUTO_TEST_CASE(two_devices_for_one_id_are_ambiguous) {
    auto m = match_entra_answer(collection({device("705c034c-034c-705c-4c03-5c704c035c70", entra),
                                            device("0b6c3f3e-8a3e-4c83-a6b0-2b5f7a0f7e11", entra)}),
                                entra);
    BOOST_TEST((m.kind == EntraMatch::Kind::Ambiguous));
    BOOST_TEST(m.why == "2 devices for one Entra device ID");
}

BOOST_AUTO_TEST_CASE(one_device_on_a_page_with_a_next_link_is_ambiguous) {
    nlohmann::json doc{
        {"value", {device("705c034c-034c-705c-4c03-5c704c035c70", entra)}},
        {"@odata.nextLink", "https://graph.microsoft.com/v1.0/deviceManagement/managedDevices?$skiptoken=x"}};
    BOOST_TEST((match_entra_answer(doc.dump(), entra).kind == EntraMatch::Kind::Ambiguous));
}

BOOST_AUTO_TEST_CASE(one_device_with_another_or_no_id_is_ambiguous) {
    const std::string intune = "705c034c-034c-705c-4c03-5c704c035c70";
    for (const auto& body :
         {collection({device(intune, "00000000-0000-0000-0000-000000000000")}),
          collection({device(intune, entra + " ")}), collection({device(intune, "")}),
          collection({{{"id", intune}, {"complianceState", "compliant"}}}),
          collection({{{"id", intune}, {"azureADDeviceId", 42}}}), collection({device("not-a-guid", entra)}),
          collection({device("", entra)}), collection({"a string"}), collection({nullptr})}) {
        auto m = match_entra_answer(body, entra);
        BOOST_TEST((m.kind == EntraMatch::Kind::Ambiguous), body);
        BOOST_TEST(!m.why.empty());
    }
}

BOOST_AUTO_TEST_CASE(what_is_not_a_collection_is_ambiguous) {
    for (const std::string& body :
         std::vector<std::string>{"", "null", "[]", "{}", "{\"value\":{}}", "{\"value\":\"x\"}", "not json",
                                  "{\"value\":[", std::string(200, '[')}) {
        auto m = match_entra_answer(body, entra);
        BOOST_TEST((m.kind == EntraMatch::Kind::Ambiguous), body);
    }
}

// The certificate's {{AAD_Device_ID}} is the Entra device's `deviceId` (Intune's azureADDeviceId),
// not the directory object's `id` (tests/fixtures/graph/entra-filter.source.txt).
BOOST_AUTO_TEST_CASE(the_entra_device_id_is_deviceId_not_the_object_id) {
    auto resource = nlohmann::json::parse(fixture("entra-device-resource.json"));
    const auto device_id = resource["deviceId"].get<std::string>(), object_id = resource["id"].get<std::string>();
    BOOST_TEST(device_id != object_id);
    const auto answer = fixture("entra-filter-one-device.json");
    BOOST_TEST((match_entra_answer(answer, device_id).kind == EntraMatch::Kind::One));
    auto by_object = match_entra_answer(answer, object_id);
    BOOST_TEST((by_object.kind == EntraMatch::Kind::Ambiguous));
    BOOST_TEST(by_object.why == "the device's azureADDeviceId is another one");
}

// No ID can close the literal and add a clause of its own: a quote is doubled (OData).
BOOST_AUTO_TEST_CASE(the_filter_quotes_the_id_as_an_odata_literal) {
    BOOST_TEST(entra_filter(entra) == "azureADDeviceId eq '" + entra + "'");
    BOOST_TEST(entra_filter("x' or azureADDeviceId ne 'y") == "azureADDeviceId eq 'x'' or azureADDeviceId ne ''y'");
    BOOST_TEST(entra_filter("'") == "azureADDeviceId eq ''''");
    BOOST_TEST(entra_filter("") == "azureADDeviceId eq ''");
}
