#define BOOST_TEST_MODULE answer
#include <boost/test/unit_test.hpp>

#include "proxy/answer/answer.hpp"
#include "proxy/answer/headers.hpp"
#include "proxy/plugin/authz_request.hpp"

#include <boost/beast/http/fields.hpp>
#include <nlohmann/json.hpp>

#include <ostream>

namespace ig {
std::ostream& operator<<(std::ostream& o, Action a) { return o << to_string(a); }
}  // namespace ig

namespace http = boost::beast::http;
using ig::Action;
using ig::Dialect;
using ig::Outcome;

namespace {

ig::Config make_config() {
    ig::Config c;
    auto at = [&](Outcome o) -> ig::OutcomeAction& { return c.outcomes[static_cast<std::size_t>(o)]; };
    at(Outcome::Compliant) = {Action::Forward, 0, {}, {{"X-Auth-Level", "2"}}};
    at(Outcome::InGracePeriod) = {Action::Forward, 0, {}, {{"X-Auth-Level", "1"}, {"X-Grace", "yes\r\nX-Evil: 1"}}};
    at(Outcome::NotCompliant) = {Action::Redirect, 302, "https://portal.manage.microsoft.com/\r\nX-Evil: 1", {}};
    at(Outcome::Conflict) = {Action::Reject, 409, {}, {}};
    at(Outcome::Error) = {Action::Reject, 503, {}, {}};
    at(Outcome::NoId) = {Action::Reject, 401, {}, {}};
    at(Outcome::StatusUnknown) = {Action::Forward, 0, {}, {{"X-Unknown", "1"}}};
    c.intune.save_device_properties = true;
    return c;
}

ig::AnswerRequest view(Dialect d, std::string_view request_id) {
    ig::AnswerRequest r;
    r.dialect = d;
    r.request_id = request_id;
    return r;
}

ig::Verdict verdict(Outcome o, std::string state = {}, std::string reason = {}) {
    ig::Verdict v;
    v.outcome = o;
    v.compliance_state = std::move(state);
    v.reason = std::move(reason);
    return v;
}

}  // namespace

BOOST_AUTO_TEST_CASE(forward_on_each_face) {
    const auto cfg = make_config();
    const auto v = verdict(Outcome::Compliant, "compliant");
    const std::optional<std::string> id = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";
    auto gw = ig::plan_answer(v, id, view(Dialect::Gateway, "req-1"), cfg);
    BOOST_TEST(gw.action == Action::Forward);
    BOOST_TEST(gw.status == 0u);  // the upstream answers
    BOOST_TEST(gw.body.empty());
    BOOST_TEST(gw.facts.device_id == &*id);
    BOOST_TEST(gw.facts.verdict == &v);
    BOOST_TEST(gw.facts.request_id == "req-1");
    for (auto d : {Dialect::Authz, Dialect::AuthzNginx}) {
        auto p = ig::plan_answer(v, id, view(d, "req-1"), cfg);
        BOOST_TEST(p.action == Action::Forward);
        BOOST_TEST(p.status == 200u);
    }
}

BOOST_AUTO_TEST_CASE(reject_status_and_body_by_dialect) {
    const auto cfg = make_config();
    const auto v = verdict(Outcome::Conflict, "conflict", "complianceState conflict");
    auto gw = ig::plan_answer(v, std::nullopt, view(Dialect::Gateway, "req-2"), cfg);
    BOOST_TEST(gw.action == Action::Reject);
    BOOST_TEST(gw.status == 409u);
    auto body = nlohmann::json::parse(gw.body);
    BOOST_TEST(body["outcome"] == "Conflict");
    BOOST_TEST(body["request_id"] == "req-2");
    BOOST_TEST(body["reason"] == "complianceState conflict");
    BOOST_TEST(ig::plan_answer(v, std::nullopt, view(Dialect::Authz, "r"), cfg).status == 409u);
    // nginx passes only 401 and 403 on; 401 means "redirect" there: every reject is 403, the
    // configured status travels separately.
    auto ng = ig::plan_answer(v, std::nullopt, view(Dialect::AuthzNginx, "r"), cfg);
    BOOST_TEST(ng.status == 403u);
    BOOST_TEST(ng.configured_status == 409u);
    BOOST_TEST(ig::plan_answer(verdict(Outcome::NoId), std::nullopt, view(Dialect::AuthzNginx, "r"), cfg).status ==
               403u);
}

BOOST_AUTO_TEST_CASE(error_reason_stays_out_of_the_body) {
    const auto cfg = make_config();
    const auto v = verdict(Outcome::Error, "", "token refused: AADSTS7000215 client 66666666-7777");
    for (auto d : {Dialect::Gateway, Dialect::Authz, Dialect::AuthzNginx}) {
        auto p = ig::plan_answer(v, std::nullopt, view(d, "r"), cfg);
        BOOST_TEST(p.body.find("AADSTS") == std::string::npos);
        BOOST_TEST(p.body.find("66666666") == std::string::npos);
    }
}

BOOST_AUTO_TEST_CASE(redirect_by_dialect_and_sanitised_location) {
    const auto cfg = make_config();
    const auto v = verdict(Outcome::NotCompliant, "noncompliant");
    auto gw = ig::plan_answer(v, std::nullopt, view(Dialect::Gateway, "r"), cfg);
    BOOST_TEST(gw.action == Action::Redirect);
    BOOST_TEST(gw.status == 302u);
    BOOST_TEST(*ig::answer_header(gw, "Location") == "https://portal.manage.microsoft.com/X-Evil: 1");  // no CR/LF
    BOOST_TEST(ig::plan_answer(v, std::nullopt, view(Dialect::Authz, "r"), cfg).status == 302u);
    auto ng = ig::plan_answer(v, std::nullopt, view(Dialect::AuthzNginx, "r"), cfg);
    BOOST_TEST(ng.status == 401u);
    BOOST_TEST(*ig::answer_header(ng, "Location") == *ig::answer_header(gw, "Location"));
    BOOST_TEST(*ig::answer_header(ng, "X-Intune-Status") == "302");
    BOOST_TEST(*ig::answer_header(ng, "X-Intune-Outcome") == "NotCompliant");
    BOOST_TEST(!ig::answer_header(gw, "X-Intune-Outcome"));  // the front end's client is no proxy
}

BOOST_AUTO_TEST_CASE(redirect_keeps_its_configured_status) {
    auto cfg = make_config();
    const auto v = verdict(Outcome::NotCompliant, "noncompliant");
    for (unsigned status : {301u, 302u, 303u, 307u, 308u}) {
        cfg.outcomes[static_cast<std::size_t>(Outcome::NotCompliant)].status = status;
        BOOST_TEST(ig::plan_answer(v, std::nullopt, view(Dialect::Gateway, "r"), cfg).status == status);
        BOOST_TEST(ig::plan_answer(v, std::nullopt, view(Dialect::Authz, "r"), cfg).status == status);
        auto ng = ig::plan_answer(v, std::nullopt, view(Dialect::AuthzNginx, "r"), cfg);
        BOOST_TEST(ng.status == 401u);
        BOOST_TEST(ng.configured_status == status);
        BOOST_TEST(*ig::answer_header(ng, "X-Intune-Status") == std::to_string(status));
    }
}

BOOST_AUTO_TEST_CASE(redirect_placeholders_filled_from_the_request) {
    auto cfg = make_config();
    cfg.outcomes[static_cast<std::size_t>(Outcome::NotCompliant)].location =
        "https://portal.example/blocked?id={request_id}&back={return_url}";
    const auto v = verdict(Outcome::NotCompliant, "noncompliant");
    for (auto d : {Dialect::Gateway, Dialect::Authz, Dialect::AuthzNginx}) {
        auto req = view(d, "0a1b");
        req.host = "app.example:8443";
        req.target = "/login?x=1";
        auto a = ig::plan_answer(v, std::nullopt, req, cfg);
        BOOST_TEST(*ig::answer_header(a, "Location") ==
                   "https://portal.example/blocked?id=0a1b&back=https%3A%2F%2Fapp.example%3A8443%2Flogin%3Fx%3D1");
        req.host = {};  // unknown: the way back expands to nothing
        a = ig::plan_answer(v, std::nullopt, req, cfg);
        BOOST_TEST(*ig::answer_header(a, "Location") == "https://portal.example/blocked?id=0a1b&back=");
    }
}

BOOST_AUTO_TEST_CASE(browser_gets_the_deny_page_on_every_face) {
    const auto cfg = make_config();
    const auto v = verdict(Outcome::Conflict, "conflict", "complianceState conflict");
    for (auto d : {Dialect::Gateway, Dialect::Authz, Dialect::AuthzNginx}) {
        auto req = view(d, "req-html");
        req.accept = "text/html,application/xhtml+xml,*/*;q=0.8";
        auto a = ig::plan_answer(v, std::nullopt, req, cfg);
        BOOST_TEST(*ig::answer_header(a, "Content-Type") == "text/html; charset=utf-8");
        BOOST_TEST(a.body.find("<!DOCTYPE html>") == 0u);
        BOOST_TEST(a.body.find("req-html") != std::string::npos);
        BOOST_TEST(a.body.find("HTTP 409") != std::string::npos);  // the configured status, also for nginx
        BOOST_TEST(*ig::answer_header(a, "Cache-Control") == "no-store");
        req.accept = "application/json";
        a = ig::plan_answer(v, std::nullopt, req, cfg);
        BOOST_TEST(*ig::answer_header(a, "Content-Type") == "application/json");
        BOOST_TEST(nlohmann::json::parse(a.body)["outcome"] == "Conflict");
    }
}

BOOST_AUTO_TEST_CASE(forward_builds_nothing) {
    const auto cfg = make_config();
    const auto v = verdict(Outcome::Compliant, "compliant");
    auto req = view(Dialect::Gateway, "r");
    req.accept = "text/html";
    auto a = ig::plan_answer(v, std::nullopt, req, cfg);
    BOOST_TEST(a.headers.empty());
    BOOST_TEST(a.headers.capacity() == 0u);
    BOOST_TEST(a.body.empty());
}

BOOST_AUTO_TEST_CASE(original_request_from_the_proxy_headers) {
    http::fields caddy;  // Caddy and Traefik: X-Forwarded-*
    caddy.set("Host", "127.0.0.1:9191");
    caddy.set("X-Forwarded-Proto", "https");
    caddy.set("X-Forwarded-Host", "app.example");
    caddy.set("X-Forwarded-Uri", "/app?x=1");
    auto o = ig::original_request(caddy, "/authz");
    BOOST_TEST(o.host == "app.example");
    BOOST_TEST(o.target == "/app?x=1");
    http::fields nginx;  // nginx: X-Original-URI, the host as configured in conf/plugin/nginx.conf
    nginx.set("Host", "app.example");
    nginx.set("X-Original-URI", "/a/b");
    o = ig::original_request(nginx, "/authz/nginx");
    BOOST_TEST(o.host == "app.example");
    BOOST_TEST(o.target == "/a/b");
    http::fields envoy;  // Envoy: the original path appended to the check's path prefix
    envoy.set("Host", "app.example");
    o = ig::original_request(envoy, "/authz/app/login?x=1");
    BOOST_TEST(o.target == "/app/login?x=1");
    BOOST_TEST(ig::original_request(envoy, "/authz").target.empty());
    http::fields plain = caddy;
    plain.set("X-Forwarded-Proto", "http");  // not the https URL the client came from
    o = ig::original_request(plain, "/authz");
    BOOST_TEST((o.host.empty() && o.target.empty()));
    http::fields twice = caddy;
    twice.insert("X-Forwarded-Uri", "/other");  // ambiguous: not used
    BOOST_TEST(ig::original_request(twice, "/authz").target.empty());
    // ... nor replaced by the next source: an access policy would judge another URL (issue 23).
    twice.set("X-Original-URI", "/public");
    BOOST_TEST(ig::original_request(twice, "/authz").target.empty());
    http::fields two_hosts = caddy;
    two_hosts.insert("X-Forwarded-Host", "public.example");
    BOOST_TEST(ig::original_request(two_hosts, "/authz").host.empty());
    two_hosts.erase("X-Forwarded-Host");
    two_hosts.set("X-Forwarded-Host", "app.example, public.example");
    BOOST_TEST(ig::original_request(two_hosts, "/authz").host.empty());
}

BOOST_AUTO_TEST_CASE(no_id_carries_no_graph_facts) {
    const auto cfg = make_config();
    auto v = verdict(Outcome::NoId, "compliant");
    auto p = ig::plan_answer(v, std::nullopt, view(Dialect::Authz, "r"), cfg);
    BOOST_TEST(p.facts.verdict == nullptr);
    BOOST_TEST(p.facts.device_id == nullptr);
}

BOOST_AUTO_TEST_CASE(answer_headers_always_present_and_clean) {
    const auto cfg = make_config();
    const auto policy = ig::make_header_policy(cfg);
    const auto v = verdict(Outcome::Compliant, "compliant\r\nX-Evil: 1");
    const std::optional<std::string> id = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";
    auto plan = ig::plan_answer(v, id, view(Dialect::Authz, "req-9"), cfg);
    http::fields f;
    ig::set_answer_headers(f, policy, plan.facts);
    BOOST_TEST(f["X-Intune-Device-Id"] == *id);
    BOOST_TEST(f["X-Intune-Outcome"] == "Compliant");
    BOOST_TEST(f["X-Intune-Compliance-State"] == "compliantX-Evil: 1");
    BOOST_TEST(f["X-Request-Id"] == "req-9");
    BOOST_TEST(f["X-Auth-Level"] == "2");
    // Present though empty: other forwarding outcomes' headers and the device JSON (configured,
    // but this verdict has none).
    BOOST_TEST((f.find("X-Grace") != f.end() && f["X-Grace"].empty()));
    BOOST_TEST((f.find("X-Unknown") != f.end() && f["X-Unknown"].empty()));
    BOOST_TEST((f.find("X-Intune-Device") != f.end() && f["X-Intune-Device"].empty()));
    // Every name the gateway can emit is present, empty without a value (issue 26 #5: a proxy
    // that copies the answer's headers then overwrites whatever the client sent).
    BOOST_TEST((f.find("X-Intune-Installed-Apps") != f.end() && f["X-Intune-Installed-Apps"].empty()));
    BOOST_TEST((f.find("X-Intune-Error") != f.end() && f["X-Intune-Error"].empty()));
    // No X-Forwarded-*: the proxy sets those for its upstream.
    BOOST_TEST((f.find("X-Forwarded-For") == f.end()));
    for (const auto& h : f) {
        BOOST_TEST(h.value().find('\r') == std::string_view::npos);
        BOOST_TEST(h.value().find('\n') == std::string_view::npos);
    }
    // No device ID (NoId forwarded): the device header is there, empty.
    ig::Config open = cfg;
    open.outcomes[static_cast<std::size_t>(Outcome::NoId)] = {Action::Forward, 0, {}, {}};
    const auto open_policy = ig::make_header_policy(open);
    const auto none = verdict(Outcome::NoId);
    auto p2 = ig::plan_answer(none, std::nullopt, view(Dialect::Authz, "r"), open);
    http::fields g;
    ig::set_answer_headers(g, open_policy, p2.facts);
    BOOST_TEST((g.find("X-Intune-Device-Id") != g.end() && g["X-Intune-Device-Id"].empty()));
    BOOST_TEST((g.find("X-Intune-Compliance-State") != g.end() && g["X-Intune-Compliance-State"].empty()));
    BOOST_TEST(g["X-Intune-Outcome"] == "NoId");
}

BOOST_AUTO_TEST_CASE(dialect_by_path) {
    BOOST_TEST((ig::authz_dialect("/authz") == Dialect::Authz));
    BOOST_TEST((ig::authz_dialect("/authz/") == Dialect::Authz));
    BOOST_TEST((ig::authz_dialect("/authz/login/x?y=1") == Dialect::Authz));  // Envoy path_prefix + original path
    BOOST_TEST((ig::authz_dialect("/authz?x") == Dialect::Authz));
    BOOST_TEST((ig::authz_dialect("/authz/nginx") == Dialect::AuthzNginx));
    BOOST_TEST((ig::authz_dialect("/authz/nginx/app") == Dialect::AuthzNginx));
    BOOST_TEST((ig::authz_dialect("/authz/nginxx") == Dialect::Authz));
    BOOST_TEST(!ig::authz_dialect("/authzz"));
    BOOST_TEST(!ig::authz_dialect("/"));
    BOOST_TEST(!ig::authz_dialect("/metrics"));
}

BOOST_AUTO_TEST_CASE(certificate_header_must_be_unambiguous) {
    const std::vector<std::string> names{"Client-Cert", "X-Forwarded-Client-Cert", "X-Forwarded-Tls-Client-Cert"};
    http::fields f;
    BOOST_TEST(ig::pick_certificate_header(f, names).kind == ig::CertHeaderPick::None);
    f.insert("X-Other", "x");
    f.insert("client-cert", ":abc:");
    auto one = ig::pick_certificate_header(f, names);
    BOOST_TEST(one.kind == ig::CertHeaderPick::One);
    BOOST_TEST(one.value == ":abc:");
    http::fields two = f;
    two.insert("X-Forwarded-Tls-Client-Cert", "MIIB");  // a second name
    BOOST_TEST(ig::pick_certificate_header(two, names).kind == ig::CertHeaderPick::Ambiguous);
    http::fields twice = f;
    twice.insert("Client-Cert", ":def:");  // the same name twice
    BOOST_TEST(ig::pick_certificate_header(twice, names).kind == ig::CertHeaderPick::Ambiguous);
    http::fields empty_extra = f;
    empty_extra.insert("X-Forwarded-Client-Cert", "");  // an empty value counts as absent
    BOOST_TEST(ig::pick_certificate_header(empty_extra, names).kind == ig::CertHeaderPick::One);
}

BOOST_AUTO_TEST_CASE(verify_header_exact_and_single) {
    ig::AuthzConfig a;
    http::fields f;
    BOOST_TEST(ig::verify_header_ok(f, a));  // not configured
    a.verify_header.emplace("X-SSL-Client-Verify", "SUCCESS");
    BOOST_TEST(!ig::verify_header_ok(f, a));
    f.insert("x-ssl-client-verify", "SUCCESS");
    BOOST_TEST(ig::verify_header_ok(f, a));
    http::fields bad = f;
    bad.set("X-SSL-Client-Verify", "FAILED:unable to get issuer");
    BOOST_TEST(!ig::verify_header_ok(bad, a));
    http::fields twice = f;
    twice.insert("X-SSL-Client-Verify", "SUCCESS");
    BOOST_TEST(!ig::verify_header_ok(twice, a));
}
