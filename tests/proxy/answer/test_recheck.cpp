// "Check again" (README: `intune.recheck_interval_s`): where the browser goes afterwards (the form's
// `return` path when it stays on the site, else "/"), how the form's field is read, the 303 on each
// face, and the button on the deny page (HTML-escaped, never for a device without an ID).
#define BOOST_TEST_MODULE recheck
#include <boost/test/unit_test.hpp>

#include "proxy/answer/answer.hpp"
#include "proxy/answer/deny_page.hpp"
#include "proxy/answer/recheck.hpp"

#include <string>

using namespace ig;

BOOST_AUTO_TEST_CASE(anything_that_could_leave_the_site_is_slash) {
    const std::string hostile[] = {"",
                                   "//evil.example",
                                   "//evil.example/path",
                                   "///evil.example",
                                   "/\\evil.example",
                                   "\\\\evil.example",
                                   "\\/evil.example",
                                   "https://evil.example",
                                   "HTTPS://evil.example",
                                   "http:evil.example",
                                   "javascript:alert(1)",
                                   "data:text/html,x",
                                   "evil.example",
                                   "./x",
                                   "?x=1",
                                   "#x",
                                   "/\t/evil.example",
                                   "/\n/evil.example",
                                   "/\r\nLocation: https://evil",
                                   "/\r/evil.example",
                                   "/%0d%0a",
                                   "/%0D%0ASet-Cookie:x=1",
                                   "/a%0D%0ASet-Cookie:x=1",
                                   "/a%09b",
                                   "/%00",
                                   "/a%7f",
                                   "/%2F%2Fevil.example",
                                   "/%2fevil.example",
                                   "/%5Cevil.example",
                                   "/%5cevil.example",
                                   "/a%5Cb",
                                   "/a b",
                                   std::string("/a\0b", 4),
                                   std::string("\0/a", 3),
                                   "/a\x7f",
                                   "/a\x01",
                                   "/caf\xc3\xa9",
                                   "/a\\b",
                                   " /app",
                                   "\t/app",
                                   "/" + std::string(2048, 'a'),
                                   "/" + std::string(100000, '/')};
    for (const auto& bad : hostile) BOOST_TEST(recheck_location(bad) == "/", bad);
}

BOOST_AUTO_TEST_CASE(paths_on_the_site_are_kept) {
    for (std::string ok : std::initializer_list<std::string>{
             "/", "/app", "/app/page?x=1&y=%2F%2Fevil", "/a/b/", "/login?next=https://x.example", "/caf%C3%A9", "/a//b",
             "/a%2Fb", "/100%25", "/%", "/a%2", "/" + std::string(2047, 'a')})
        BOOST_TEST(recheck_location(ok) == ok);
}

BOOST_AUTO_TEST_CASE(the_return_field_is_form_decoded) {
    BOOST_TEST(form_field("return=%2Fapp%3Fx%3D1", "return").value() == "/app?x=1");
    BOOST_TEST(form_field("a=1&return=/app+page&b=2", "return").value() == "/app page");
    BOOST_TEST(form_field("return=", "return").value().empty());
    BOOST_TEST(form_field("return", "return").value().empty());
    BOOST_TEST(form_field("ret%75rn=/x", "return").value() == "/x");
    BOOST_TEST(!form_field("", "return"));
    BOOST_TEST(!form_field("returned=/x", "return"));
    BOOST_TEST(!form_field("return=/a&return=/b", "return"));  // twice: neither
    BOOST_TEST(!form_field("return=%zz", "return"));  // not well encoded
    BOOST_TEST(!form_field("return=%2", "return"));
    // Decoded, a CR/LF is one more hostile value for recheck_location().
    BOOST_TEST(recheck_location(form_field("return=%2F%0D%0ALocation:%20x", "return").value()) == "/");
    BOOST_TEST(recheck_location(form_field("return=%2F%2Fevil", "return").value()) == "/");
}

BOOST_AUTO_TEST_CASE(the_path_is_the_recheck_path_exactly) {
    BOOST_TEST(is_recheck_path("/.well-known/intune-gate/recheck"));
    BOOST_TEST(is_recheck_path("/.well-known/intune-gate/recheck?x=1"));
    BOOST_TEST(!is_recheck_path("/.well-known/intune-gate/recheck/"));
    BOOST_TEST(!is_recheck_path("/.well-known/intune-gate/rechecks"));
    BOOST_TEST(!is_recheck_path("/app/.well-known/intune-gate/recheck"));
    BOOST_TEST(!is_recheck_path(""));
}

BOOST_AUTO_TEST_CASE(see_other_on_each_face) {
    auto gw = plan_recheck(Dialect::Gateway, "/app?x=1");
    BOOST_TEST(gw.status == 303u);
    BOOST_TEST(*answer_header(gw, "Location") == "/app?x=1");
    BOOST_TEST(*answer_header(gw, "Cache-Control") == "no-store");
    BOOST_TEST(gw.body.empty());
    BOOST_TEST(plan_recheck(Dialect::Authz, "/").status == 303u);
    auto ng = plan_recheck(Dialect::AuthzNginx, "/");
    BOOST_TEST(ng.status == 401u);  // nginx passes only 401/403 on: its error_page turns it into the 303
    BOOST_TEST(*answer_header(ng, "X-Intune-Status") == "303");
    BOOST_TEST(*answer_header(ng, "Location") == "/");
}

namespace {
Config reject_all() {
    Config c;
    for (auto& a : c.outcomes) a = {Action::Reject, 403, {}, {}};
    return c;
}
AnswerRequest browser(std::string_view target) {
    AnswerRequest r;
    r.request_id = "rid";
    r.accept = "text/html";
    r.host = "app.example";
    r.target = target;
    return r;
}
Verdict of(Outcome o) {
    Verdict v;
    v.outcome = o;
    return v;
}
}  // namespace

BOOST_AUTO_TEST_CASE(the_deny_page_of_a_device_with_an_id_has_the_button) {
    const auto cfg = reject_all();
    const std::optional<std::string> id = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";
    const std::string planted = "/app?q=\"><script>alert(1)</script>&x='";
    for (auto o : {Outcome::NotCompliant, Outcome::InGracePeriod, Outcome::Conflict, Outcome::StatusUnknown,
                   Outcome::Error, Outcome::ConfigManager, Outcome::Compliant}) {
        const auto v = of(o);
        auto a = plan_answer(v, id, browser(planted), cfg);
        BOOST_TEST(
            a.body.find("<form method=\"post\" action=\"/.well-known/intune-gate/recheck\">") != std::string::npos,
            to_string(o));
        BOOST_TEST(
            a.body.find(
                "name=\"return\" value=\"/app?q=&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&amp;x=&#39;\"") !=
                std::string::npos,
            to_string(o));
        BOOST_TEST(a.body.find("<script>") == std::string::npos);
        BOOST_TEST(a.body.find(">Check again</button>") != std::string::npos);
    }
    // An unknown original target (plugin mode without X-Forwarded-Uri): back to the site's root.
    const auto v = of(Outcome::NotCompliant);
    BOOST_TEST(plan_answer(v, id, browser(""), cfg).body.find("name=\"return\" value=\"/\"") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(no_button_without_a_device_id_or_for_api_clients) {
    const auto cfg = reject_all();
    const auto noid = of(Outcome::NoId);
    BOOST_TEST(plan_answer(noid, std::nullopt, browser("/app"), cfg).body.find("recheck") == std::string::npos);
    const auto err = of(Outcome::Error);  // e.g. the certificate named no usable ID and Graph was not asked
    BOOST_TEST(plan_answer(err, std::nullopt, browser("/app"), cfg).body.find("recheck") == std::string::npos);
    auto api = browser("/app");
    api.accept = "application/json";
    const std::optional<std::string> id = "3f2504e0-4f89-41d3-9a0c-0305e82c3301";
    const auto nc = of(Outcome::NotCompliant);
    BOOST_TEST(plan_answer(nc, id, api, cfg).body.find("recheck") == std::string::npos);
}
