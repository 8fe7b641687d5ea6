#pragma once
// Test harness for the compliance core: the demo PKI, an in-process Graph emulator with a devices
// file written for these tests, and a ComplianceService on its own io thread.
#include "core/verdict/compliance.hpp"
#include "tests/emulator/graph_emulator.hpp"
#include "tests/support/test_pki.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include <unistd.h>

namespace ig::test::core {

namespace fs = std::filesystem;

inline constexpr const char* tenant = "11111111-2222-4333-8444-555555555555";
inline constexpr const char* client = "66666666-7777-4888-8999-000000000000";
inline constexpr const char* secret = "demo-s3cret+/=&~ x";
inline constexpr const char* user = "svc-intune@contoso.example";
inline constexpr const char* password = "p@ss w+rd&=";

inline std::string guid(const char* last4) { return std::string("3f2504e0-4f89-41d3-9a0c-0305e82c") + last4; }

inline const fs::path& pki_dir() { return ig::test::test_pki(); }

inline nlohmann::json app(const std::string& name) {
    return {{"displayName", name}, {"version", "1." + name}, {"publisher", "Contoso"}};
}

inline nlohmann::json device(const std::string& id, const std::string& state) {
    return {{"id", id},
            {"deviceName", "pc-" + id.substr(32)},
            {"complianceState", state},
            {"managementAgent", "mdm"},
            {"operatingSystem", "Windows"},
            {"osVersion", "10.0.22631"},
            {"userPrincipalName", "alice@contoso.example"},
            {"serialNumber", "SN" + id.substr(32)}};
}

inline fs::path devices_file() {
    static const fs::path file = [] {
        nlohmann::json devices = nlohmann::json::object();
        const std::pair<const char*, const char*> states[] = {
            {"3301", "compliant"},     {"3302", "noncompliant"},    {"3303", "inGracePeriod"},
            {"3304", "configManager"}, {"3305", "conflict"},        {"3306", "unknown"},
            {"3307", "error"},         {"330a", "someFutureState"}, {"3309", "compliant"}};
        for (auto& [n, s] : states) devices[guid(n)] = device(guid(n), s);
        auto apps = device(guid("3401"), "compliant");
        apps["detectedApps"] = {app("a"), app("b"), app("c"), app("d"), app("e")};
        devices[guid("3401")] = apps;
        // 300 apps (a developer's laptop): the installed-apps header must stay under its cap.
        auto many = device(guid("3403"), "compliant");
        many["detectedApps"] = nlohmann::json::array();
        for (int i = 0; i < 300; ++i) many["detectedApps"].push_back(app("app-number-" + std::to_string(i)));
        many["apps_page_size"] = 100;
        devices[guid("3403")] = many;
        auto foreign = device(guid("3402"), "compliant");
        foreign["detectedApps"] = {app("a"), app("b"), app("c")};
        foreign["apps_next_link_host"] = "https://graph.evil.example:9443";
        devices[guid("3402")] = foreign;
        for (int i = 0; i < 10; ++i) {
            auto id = guid(("35" + std::to_string(10 + i)).c_str());
            devices[id] = device(id, i % 2 ? "compliant" : "noncompliant");
        }
        nlohmann::json doc = {{"tenants",
                               {{tenant,
                                 {{"clients",
                                   {{client,
                                     {{"secret", secret},
                                      {"certificate", (pki_dir() / "intune-app.crt").string()},
                                      {"users", {{user, password}}}}}}}}}}},
                              {"token_expires_in", 3600},
                              {"apps_page_size", 2},
                              {"devices", devices}};
        // Beside this process's own PKI: the file names its certificate.
        fs::path f = pki_dir() / "test-core-devices.json";
        std::ofstream(f) << doc.dump(2);
        return f;
    }();
    return file;
}

inline IntuneConfig base_config(const std::string& origin) {
    IntuneConfig c;
    c.tenant_id = tenant;
    c.client_id = client;
    c.auth = AuthMode::ClientSecret;
    c.client_secret.value = secret;
    c.username = user;
    c.password.value = password;
    c.client_certificate = pki_dir() / "intune-app.crt";
    c.client_private_key = pki_dir() / "intune-app.key";
    c.login_url = origin;
    c.graph_url = origin;
    c.ca_file = pki_dir() / "server-ca.crt";
    c.timeout = std::chrono::milliseconds(3000);
    c.cache.compliant_ttl = std::chrono::seconds(60);
    c.cache.other_ttl = std::chrono::seconds(60);
    return c;
}

inline EmulatorOptions emulator_options() {
    EmulatorOptions o;
    o.devices_file = devices_file();
    o.cert = pki_dir() / "server.crt";
    o.key = pki_dir() / "server.key";
    return o;
}

// The emulator plus one ComplianceService running on one core thread.
struct Env {
    GraphEmulator emulator{emulator_options()};
    IntuneConfig config = base_config(emulator.origin());
    CoreMetrics metrics;
    boost::asio::io_context io;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{io.get_executor()};
    std::thread thread{[this] { io.run(); }};
    std::unique_ptr<ComplianceService> service;

    Env() = default;
    ~Env() {
        service.reset();
        work.reset();
        io.stop();
        thread.join();
    }

    ComplianceService& svc() {
        if (!service) service = std::make_unique<ComplianceService>(io.get_executor(), config, metrics);
        return *service;
    }

    std::future<Verdict> start(const std::string& id, const std::string& request_id = {}) {
        auto p = std::make_shared<std::promise<Verdict>>();
        auto f = p->get_future();
        svc().lookup(
            id, [p](Verdict v) { p->set_value(std::move(v)); }, request_id);
        return f;
    }

    Verdict check(const std::string& id, const std::string& request_id = {}) {
        auto f = start(id, request_id);
        if (f.wait_for(std::chrono::seconds(20)) != std::future_status::ready) {
            BOOST_FAIL("check() did not complete");
        }
        return f.get();
    }

    int device_requests(const std::string& id) const {
        auto s = emulator.stats();
        return s["device_requests"].value(id, 0);
    }
    int stat(const char* name) const { return emulator.stats().value(name, 0); }
};

}  // namespace ig::test::core
