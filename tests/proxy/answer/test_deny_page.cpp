// Deny pages and redirect locations: content negotiation, every field escaped (built-in and
// operator pages), the headers a page is sent with, the JSON body kept for API clients.
#define BOOST_TEST_MODULE deny_page
#include <boost/test/unit_test.hpp>

#include "proxy/answer/deny_page.hpp"

#include <nlohmann/json.hpp>

#include <set>

using namespace ig;

namespace {

constexpr std::string_view chrome_accept =
    "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,"
    "application/signed-exchange;v=b3;q=0.7";
constexpr std::string_view planted = "<script>document.title='pwned'</script><img src=x onerror=alert(1)>\"'&";

std::string header(const RejectReply& r, std::string_view name) {
    for (const auto& [n, v] : r.headers)
        if (n == name) return std::string(v);
    return "(absent)";
}

Verdict verdict(Outcome o, std::string reason) {
    Verdict v;
    v.outcome = o;
    v.reason = std::move(reason);
    return v;
}

OutcomeAction reject(unsigned status, std::string help = {}, std::string help_url = {}) {
    OutcomeAction a;
    a.action = Action::Reject;
    a.status = status;
    a.help = std::move(help);
    a.help_url = std::move(help_url);
    return a;
}

}  // namespace

BOOST_AUTO_TEST_CASE(browsers_get_html_api_clients_json) {
    BOOST_TEST(prefers_html(chrome_accept));
    BOOST_TEST(prefers_html("text/html"));
    BOOST_TEST(prefers_html("application/json;q=0.5, text/html"));
    BOOST_TEST(prefers_html("TEXT/HTML; charset=utf-8"));
    BOOST_TEST(prefers_html("text/*"));
    BOOST_TEST(!prefers_html(""));
    BOOST_TEST(!prefers_html("*/*"));  // curl: a tie keeps JSON
    BOOST_TEST(!prefers_html("application/json"));
    BOOST_TEST(!prefers_html("application/json, text/html"));  // equal q: JSON
    BOOST_TEST(!prefers_html("text/html;q=0.5, application/json"));
    BOOST_TEST(!prefers_html("text/html;q=0, */*"));
    BOOST_TEST(!prefers_html("text/*;q=0.2, application/*"));
    BOOST_TEST(prefers_html("text/html;q=0.9, */*;q=0.1"));
    BOOST_TEST(prefers_html("text/html ; q = 0.9 , application/json;q=0.3"));
    // The most specific range decides: text/html;q=0.1 beats */*.
    BOOST_TEST(!prefers_html("*/*, text/html;q=0.1"));
    // Malformed q: JSON.
    BOOST_TEST(!prefers_html("text/html;q=2"));
    BOOST_TEST(!prefers_html("text/html;q=abc"));
    BOOST_TEST(!prefers_html("text/html;q=0.12345"));
}

BOOST_AUTO_TEST_CASE(escape_covers_markup_quotes_and_controls) {
    BOOST_TEST(html_escape("<a href=\"x\" title='y'>&amp;</a>") ==
               "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;");
    BOOST_TEST(html_escape(std::string_view("a\0b\rc\x1b\x7f\td\ne", 11)) == "abc\td\ne");
    BOOST_TEST(html_escape("Grüße") == "Grüße");
}

BOOST_AUTO_TEST_CASE(html_page_for_a_browser) {
    auto action = reject(403, "Call the service desk on 1234.", "https://portal.manage.microsoft.com/devices");
    const auto t = std::chrono::system_clock::from_time_t(1795600000);
    auto r = render_reject(action, verdict(Outcome::NotCompliant, "complianceState noncompliant"),
                           "0123456789abcdef0123456789abcdef", chrome_accept, t);
    BOOST_TEST(r.status == 403u);
    BOOST_TEST(r.content_type == "text/html; charset=utf-8");
    BOOST_TEST(header(r, "Content-Security-Policy") == "default-src 'none'; style-src 'unsafe-inline'");
    BOOST_TEST(header(r, "Cache-Control") == "no-store");
    BOOST_TEST(header(r, "Vary") == "Accept");
    const auto& b = r.body;
    BOOST_TEST(b.rfind("<!DOCTYPE html>\n<html lang=\"en\">", 0) == 0u);
    BOOST_TEST(b.find("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">") != std::string::npos);
    BOOST_TEST(b.find("prefers-color-scheme:dark") != std::string::npos);
    BOOST_TEST(b.find("<h1>Your device doesn&#39;t meet") == std::string::npos);  // built-in text is written as is
    BOOST_TEST(b.find("<h1>Your device doesn't meet your organization's requirements</h1>") != std::string::npos);
    BOOST_TEST(b.find("<h2 id=\"what-happened\">What happened</h2>") != std::string::npos);
    BOOST_TEST(b.find("<h2 id=\"what-to-do\">What you can do</h2>") != std::string::npos);
    BOOST_TEST(b.find("Company Portal") != std::string::npos);
    BOOST_TEST(b.find("<p class=\"help\">Call the service desk on 1234.</p>") != std::string::npos);
    BOOST_TEST(b.find("<a class=\"button\" href=\"https://portal.manage.microsoft.com/devices\">Continue to "
                      "portal.manage.microsoft.com</a>") != std::string::npos);
    BOOST_TEST(b.find("<code>0123456789abcdef0123456789abcdef</code>") != std::string::npos);
    BOOST_TEST(b.find(page_time(t)) != std::string::npos);
    BOOST_TEST(b.find("NotCompliant (HTTP 403)") != std::string::npos);
    BOOST_TEST(b.find("complianceState noncompliant") != std::string::npos);
    // Self-contained: nothing is loaded from anywhere.
    for (std::string_view external : {"<script", "<link", "<img", "src=", "url(", "@import"})
        BOOST_TEST(b.find(external) == std::string::npos, external);
}

BOOST_AUTO_TEST_CASE(every_outcome_has_its_own_page) {
    std::set<std::string> titles;
    for (std::size_t i = 0; i < outcome_count; ++i) {
        DenyInfo info;
        info.outcome = static_cast<Outcome>(i);
        info.request_id = "r";
        info.time = "t";
        const auto page = render_deny_page(info);
        const auto start = page.find("<h1>"), end = page.find("</h1>");
        BOOST_REQUIRE(start != std::string::npos);
        titles.insert(page.substr(start, end - start));
        BOOST_TEST(page.find("What you can do") != std::string::npos);
    }
    BOOST_TEST(titles.size() == outcome_count);
}

BOOST_AUTO_TEST_CASE(markup_in_every_field_is_text) {
    const std::string evil(planted);
    auto action = reject(409, evil, "https://portal.example/?a=\"><script>x</script>");
    auto r = render_reject(action, verdict(Outcome::Conflict, evil), "<b>id</b>", "text/html");
    const auto& b = r.body;
    BOOST_TEST(b.find("<script") == std::string::npos);
    BOOST_TEST(b.find("<img") == std::string::npos);
    BOOST_TEST(b.find("<b>") == std::string::npos);
    BOOST_TEST(b.find("&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"
                      "&quot;&#39;&amp;") != std::string::npos);
    BOOST_TEST(b.find("href=\"https://portal.example/?a=&quot;&gt;&lt;script&gt;x&lt;/script&gt;\"") !=
               std::string::npos);
    BOOST_TEST(b.find("<code>&lt;b&gt;id&lt;/b&gt;</code>") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(operator_page_gets_every_field_escaped) {
    auto parsed = parse_page_template(
        "<html lang=\"de\"><p>{{outcome}}|{{request_id}}|{{reason}}|{{help}}|{{help_url}}|{{time}}</p></html>");
    BOOST_REQUIRE(parsed.error.empty());
    auto action = reject(403, "<i>help</i>", "https://h.example/?q=<x>");
    action.page = std::make_shared<const PageTemplate>(parsed.page);
    const auto t = std::chrono::system_clock::from_time_t(0);
    auto r =
        render_reject(action, verdict(Outcome::StatusUnknown, "<script>alert(1)</script>"), "<id>", chrome_accept, t);
    BOOST_TEST(r.body ==
               "<html lang=\"de\"><p>StatusUnknown|&lt;id&gt;|&lt;script&gt;alert(1)&lt;/script&gt;|"
               "&lt;i&gt;help&lt;/i&gt;|https://h.example/?q=&lt;x&gt;|1970-01-01 00:00:00 UTC</p></html>");
    BOOST_TEST(header(r, "Content-Security-Policy") == "default-src 'none'; style-src 'unsafe-inline'");
}

BOOST_AUTO_TEST_CASE(template_placeholders_are_checked) {
    BOOST_TEST(parse_page_template("no fields").error.empty());
    BOOST_TEST(parse_page_template("{{time}}{{time}}").page.pieces.size() == 2u);
    BOOST_TEST(parse_page_template("{{Time}}").error.find("unknown placeholder at byte 0") == 0u);
    BOOST_TEST(parse_page_template("x {{request_id").error.find("unknown placeholder at byte 2") == 0u);
    BOOST_TEST(!parse_page_template("{{ reason }}").error.empty());
}

BOOST_AUTO_TEST_CASE(api_clients_keep_the_json_body) {
    for (std::string_view accept : {"", "*/*", "application/json", "application/json, text/html;q=0.9"}) {
        auto r = render_reject(reject(401), verdict(Outcome::NoId, "no client certificate"), "abc", accept);
        BOOST_TEST(r.status == 401u);
        BOOST_TEST(r.content_type == "application/json");
        BOOST_TEST(header(r, "Content-Security-Policy") == "(absent)");
        auto j = nlohmann::json::parse(r.body);
        BOOST_TEST(j ==
                   (nlohmann::json{{"outcome", "NoId"}, {"request_id", "abc"}, {"reason", "no client certificate"}}));
    }
}

BOOST_AUTO_TEST_CASE(error_reason_stays_generic_on_the_page_and_in_json) {
    const std::string secretish = "token request failed: AADSTS7000215 client 66666666-7777";
    for (std::string_view accept : {"text/html", "application/json"}) {
        auto r = render_reject(reject(503), verdict(Outcome::Error, secretish), "abc", accept);
        BOOST_TEST(r.body.find("AADSTS") == std::string::npos);
        BOOST_TEST(r.body.find("no usable answer from the compliance service") != std::string::npos);
    }
}

BOOST_AUTO_TEST_CASE(redirect_placeholders_are_percent_encoded) {
    const auto back = original_url("app.example:8443", "/login?next=/a b&x=1");
    BOOST_TEST(back.empty());  // a space is not valid in a request target
    const auto url = original_url("app.example:8443", "/login?next=%2Fa&x=1");
    BOOST_TEST(url == "https://app.example:8443/login?next=%2Fa&x=1");
    BOOST_TEST(redirect_location("https://portal.example/blocked?id={request_id}&return={return_url}", "0a1b", url) ==
               "https://portal.example/"
               "blocked?id=0a1b&return=https%3A%2F%2Fapp.example%3A8443%2Flogin%3Fnext%3D%252Fa%26x%3D1");
    BOOST_TEST(redirect_location("https://portal.example/", "0a1b", url) == "https://portal.example/");
    // Host headers that do not form an origin give no return URL.
    BOOST_TEST(original_url("user@evil.example", "/").empty());
    BOOST_TEST(original_url("", "/").empty());
    BOOST_TEST(original_url("a.example", "*").empty());
    BOOST_TEST(original_url("a.example/x", "/").empty());
    BOOST_TEST(original_url("a.example\r\nX: 1", "/").empty());
    BOOST_TEST(redirect_location("https://p.example/?r={return_url}", "id", "") == "https://p.example/?r=");
}
