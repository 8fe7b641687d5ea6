#define BOOST_TEST_MODULE access_log
#include <boost/test/unit_test.hpp>

#include "core/text/log.hpp"
#include "proxy/answer/access_log.hpp"

#include <nlohmann/json.hpp>

#include <fcntl.h>
#include <unistd.h>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

namespace {

// Captures what the background log writer puts on stdout (fd 1) while the fixture lives.
class StdoutCapture {
public:
    StdoutCapture() {
        path_ = std::filesystem::temp_directory_path() / ("ig-access-log-" + std::to_string(::getpid()) + ".txt");
        ig::log::flush();
        std::fflush(stdout);
        saved_ = ::dup(1);
        const int fd = ::open(path_.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0600);
        BOOST_REQUIRE(saved_ >= 0 && fd >= 0);
        ::dup2(fd, 1);
        ::close(fd);
    }
    ~StdoutCapture() {
        restore();
        std::filesystem::remove(path_);
    }
    std::vector<std::string> lines() {
        restore();
        std::ifstream in(path_);
        std::vector<std::string> out;
        for (std::string line; std::getline(in, line);) out.push_back(line);
        return out;
    }

private:
    void restore() {
        if (saved_ < 0) return;
        ig::log::flush();
        std::fflush(stdout);
        ::dup2(saved_, 1);
        ::close(saved_);
        saved_ = -1;
    }
    std::filesystem::path path_;
    int saved_ = -1;
};

ig::AccessRecord forwarded() {
    ig::AccessRecord r;
    r.request_id = "req-1";
    r.client_address = "127.0.0.1";
    r.method = "GET";
    r.path = "/am/json/authenticate";
    r.device_id = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";
    r.outcome = "Compliant";
    r.compliance_state = "compliant";
    r.action = "forward";
    r.status = 200;
    r.upstream_status = 200;
    r.latency_ms = 12.3456789;
    r.graph_ms = 4.5;
    r.cache_hit = false;
    return r;
}

}  // namespace

BOOST_AUTO_TEST_CASE(one_json_line_with_every_spec_field) {
    StdoutCapture capture;
    ig::log_access(forwarded());
    const auto lines = capture.lines();
    BOOST_REQUIRE_EQUAL(lines.size(), 1u);
    const auto j = nlohmann::json::parse(lines[0]);
    for (const char* key : {"time", "request_id", "client", "device_id", "outcome", "compliance_state", "action",
                            "status", "upstream_status", "latency_ms", "graph_ms", "cache"})
        BOOST_TEST(j.contains(key), "missing field " << key);
    BOOST_TEST(j["request_id"] == "req-1");
    BOOST_TEST(j["client"] == "127.0.0.1");
    BOOST_TEST(j["method"] == "GET");
    BOOST_TEST(j["path"] == "/am/json/authenticate");
    BOOST_TEST(j["device_id"] == "3f2504e0-4f89-41d3-9a0c-0305e82c3301");
    BOOST_TEST(j["outcome"] == "Compliant");
    BOOST_TEST(j["compliance_state"] == "compliant");
    BOOST_TEST(j["action"] == "forward");
    BOOST_TEST(j["status"] == 200);
    BOOST_TEST(j["upstream_status"] == 200);
    BOOST_TEST(j["latency_ms"].get<double>() == 12.346, boost::test_tools::tolerance(1e-9));
    BOOST_TEST(j["graph_ms"].get<double>() == 4.5, boost::test_tools::tolerance(1e-9));
    BOOST_TEST(j["cache"] == "miss");
    BOOST_TEST(!j.contains("error"));
    const std::string time = j["time"];
    BOOST_TEST(time.size() == 24u);  // 2026-11-26T10:12:15.123Z
    BOOST_TEST(time.back() == 'Z');
}

BOOST_AUTO_TEST_CASE(reject_without_device_has_nulls_and_error) {
    StdoutCapture capture;
    ig::AccessRecord r;
    r.request_id = "req-2";
    r.client_address = "::1";
    r.outcome = "NoId";
    r.action = "reject";
    r.status = 401;
    r.cache_hit = true;
    r.error = "no device id in the certificate";
    ig::log_access(r);
    const auto lines = capture.lines();
    BOOST_REQUIRE_EQUAL(lines.size(), 1u);
    const auto j = nlohmann::json::parse(lines[0]);
    BOOST_TEST(j["device_id"].is_null());
    BOOST_TEST(j["compliance_state"].is_null());
    BOOST_TEST(j["upstream_status"].is_null());
    BOOST_TEST(j["status"] == 401);
    BOOST_TEST(j["cache"] == "hit");
    BOOST_TEST(j["error"] == "no device id in the certificate");
    BOOST_TEST(!j.contains("method"));
}

BOOST_AUTO_TEST_CASE(hostile_fields_stay_on_one_valid_line) {
    StdoutCapture capture;
    auto r = forwarded();
    r.path = "/a\r\nX-Evil: 1\n\"}{" + std::string("\0\xff\xfe", 3) + std::string(5000, 'p');
    r.device_id = "bad\r\nid";
    r.error = "line1\nline2";
    r.latency_ms = -std::numeric_limits<double>::infinity();  // never emitted as a non-JSON number
    ig::log_access(r);
    ig::log_access(forwarded());
    const auto lines = capture.lines();
    BOOST_REQUIRE_EQUAL(lines.size(), 2u);  // the CR/LF inside fields did not split the line
    const auto j = nlohmann::json::parse(lines[0]);
    BOOST_TEST(j["path"].get<std::string>().size() <= 1040u);  // capped (invalid bytes became U+FFFD)
    BOOST_TEST(j["device_id"] == "bad\r\nid");  // escaped in JSON, intact when parsed
    BOOST_TEST(j["latency_ms"] == 0);
    BOOST_TEST(lines[0].find('\r') == std::string::npos);
    BOOST_TEST(nlohmann::json::parse(lines[1])["request_id"] == "req-1");
}

BOOST_AUTO_TEST_CASE(many_lines_keep_their_order) {
    StdoutCapture capture;
    for (int i = 0; i < 500; ++i) {
        auto r = forwarded();
        r.request_id = "r" + std::to_string(i);
        ig::log_access(r);
    }
    const auto lines = capture.lines();
    BOOST_REQUIRE_EQUAL(lines.size(), 500u);
    for (int i = 0; i < 500; ++i) BOOST_TEST(nlohmann::json::parse(lines[i])["request_id"] == "r" + std::to_string(i));
}

// The line is rendered without a JSON object; it must still be exactly what one would print
// (keys sorted, numbers and escapes as nlohmann writes them), plain and hostile fields alike.
BOOST_AUTO_TEST_CASE(rendered_line_is_canonical_json) {
    StdoutCapture capture;
    auto plain = forwarded();
    plain.latency_ms = 3.0;
    auto hostile = forwarded();
    hostile.path = "/q\"uote\\back\tslash\x01" + std::string("\xc3\xa9");
    hostile.error = std::string(2000, 'e');
    hostile.upstream_status = 0;
    ig::log_access(plain);
    ig::log_access(hostile);
    const auto lines = capture.lines();
    BOOST_REQUIRE_EQUAL(lines.size(), 2u);
    for (const auto& line : lines) BOOST_TEST(nlohmann::json::parse(line).dump() == line);
    const auto j = nlohmann::json::parse(lines[1]);
    BOOST_TEST(j["path"] == "/q\"uote\\back\tslash\x01\xc3\xa9");
    BOOST_TEST(j["error"].get<std::string>() == std::string(1024, 'e') + "...");
    BOOST_TEST(j["upstream_status"].is_null());
    BOOST_TEST(nlohmann::json::parse(lines[0])["latency_ms"].get<double>() == 3.0);
}
