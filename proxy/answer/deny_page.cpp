#include "proxy/answer/deny_page.hpp"

#include "core/text/location_placeholders.hpp"
#include "core/text/text.hpp"
#include "proxy/answer/policy_answer.hpp"
#include "proxy/answer/recheck.hpp"
#include "proxy/http/refusal.hpp"

#include <boost/url/encode.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <ctime>

namespace ig {
namespace urls = boost::urls;

namespace {

// What the page says per outcome, in the order of `Outcome`.
struct OutcomeText {
    std::string_view title;
    std::string_view happened;
    std::string_view todo;
    std::string_view tone;  // CSS class: "device" (the device can fix it), "identity", "service"
};

constexpr std::array<OutcomeText, outcome_count> texts{{
    {"Sign-in from this device is not allowed here",
     "Your device meets your organization's requirements, but your organization does not allow sign-in "
     "from it here.",
     "If you think this is a mistake, contact your help desk and give them the request ID below.", "identity"},
    {"Your device doesn't meet your organization's requirements",
     "Before you can sign in, your organization checks that your device is secure and up to date. "
     "Microsoft Intune reports that this device is not compliant with your organization's policies.",
     "Open the Company Portal app on this device, select this device and choose Check status (or Check "
     "access). Fix the issues it lists, such as a pending update, encryption or a screen lock, then try "
     "again. It can take a few minutes until we see the change.",
     "device"},
    {"Your device needs attention",
     "This device has issues that must be fixed soon to stay compliant with your organization's policies, "
     "and sign-in here needs them fixed now.",
     "Open the Company Portal app, fix the issues it lists, then try again.", "device"},
    {"Your device's status comes from Configuration Manager",
     "This device's compliance is managed by Microsoft Configuration Manager, and sign-in here needs a "
     "compliance result from Microsoft Intune.",
     "Contact your help desk and give them the request ID below.", "identity"},
    {"We couldn't confirm that your device is compliant",
     "Microsoft Intune has conflicting compliance results for this device, for example from two policies "
     "that disagree.",
     "Open the Company Portal app and choose Check status to sync this device, then try again. If you "
     "still see this page, contact your help desk with the request ID below.",
     "device"},
    {"We couldn't identify your device",
     "Sign-in here works only from a device enrolled in your organization's device management. Your "
     "browser didn't present a certificate that identifies an enrolled device.",
     "Use your work device. If it is enrolled, close every browser window, open the browser again and "
     "choose your organization's certificate when asked. If it isn't enrolled yet, enroll it with the "
     "Company Portal app first.",
     "identity"},
    {"Your device's status isn't known yet",
     "Microsoft Intune hasn't reported yet whether this device is compliant. This is common right after a "
     "device is enrolled or reset.",
     "Open the Company Portal app and choose Check status, wait a few minutes, then try again.", "device"},
    {"We couldn't check your device right now",
     "The service that checks devices didn't answer in time. This is a problem on our side, not with your "
     "device.",
     "Wait a minute, then try again. If it keeps happening, contact your help desk and give them the "
     "request ID below.",
     "service"},
}};

// One stylesheet for every built-in page: readable from a 320 px phone to a desktop, light and dark.
constexpr std::string_view style = R"css(
:root{color-scheme:light dark;--bg:#f3f4f6;--card:#fff;--text:#1f2328;--muted:#57606a;--line:#d8dee4;
--accent:#9a6700;--accent-bg:#fff8c5;--link:#0969da;--link-text:#fff;--code:#eff1f3}
.identity{--accent:#0550ae;--accent-bg:#ddf4ff}
.service{--accent:#cf222e;--accent-bg:#ffebe9}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--card:#161b22;--text:#e6edf3;--muted:#9198a1;
--line:#30363d;--accent:#d29922;--accent-bg:#3b2e0a;--link:#4493f8;--link-text:#0d1117;--code:#262c36}
.identity{--accent:#4493f8;--accent-bg:#0c2d6b}.service{--accent:#f85149;--accent-bg:#5d0f12}}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--text);font:1rem/1.55 system-ui,-apple-system,"Segoe UI",Roboto,
"Noto Sans","Helvetica Neue",Arial,sans-serif}
main{max-width:40rem;margin:0 auto;padding:2.5rem 1rem}
.card{background:var(--card);border:1px solid var(--line);border-radius:12px;padding:2rem 2rem 1.5rem;
box-shadow:0 1px 3px rgba(0,0,0,.08)}
.badge{display:inline-flex;align-items:center;gap:.5rem;background:var(--accent-bg);color:var(--accent);
border-radius:999px;padding:.25rem .8rem;font-weight:600;font-size:.875rem}
.badge::before{content:"";width:.6rem;height:.6rem;border-radius:50%;background:var(--accent)}
h1{font-size:1.6rem;line-height:1.25;margin:.9rem 0 1.25rem}
h2{font-size:1.05rem;margin:1.5rem 0 .35rem}
p{margin:0 0 .75rem}
.help{border-left:4px solid var(--accent);background:var(--accent-bg);border-radius:0 8px 8px 0;
padding:.75rem 1rem;margin:.75rem 0;white-space:pre-line;overflow-wrap:anywhere}
.button{display:inline-block;background:var(--link);color:var(--link-text);text-decoration:none;
font-weight:600;border-radius:8px;padding:.7rem 1.2rem;margin:.5rem 0 .25rem;max-width:100%;overflow-wrap:anywhere}
button.button{border:0;font:inherit;font-weight:600;cursor:pointer}
.button:hover{text-decoration:underline}
.button:focus-visible{outline:3px solid var(--text);outline-offset:2px}
.note{color:var(--muted);font-size:.9rem}
.desk{border-top:1px solid var(--line);margin-top:1.75rem;padding-top:.25rem}
.desk h2{color:var(--muted);font-size:.9rem;text-transform:uppercase;letter-spacing:.04em}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.35rem 1rem;margin:.5rem 0 0;font-size:.925rem}
dt{color:var(--muted)}dd{margin:0;min-width:0;overflow-wrap:anywhere}
code{font:.9em ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:var(--code);border-radius:4px;
padding:.1rem .3rem;user-select:all;overflow-wrap:anywhere}
@media (max-width:30rem){main{padding:1rem .75rem}.card{padding:1.25rem 1.1rem 1rem}h1{font-size:1.35rem}
dl{grid-template-columns:1fr;gap:0}dd{margin-bottom:.5rem}}
)css";

std::string_view badge_text(std::string_view tone) {
    if (tone == "service") return "Temporary problem";
    if (tone == "identity") return "Access blocked";
    return "Device check failed";
}

// The host of an https URL validated at config load, for the button's text.
std::string url_host(std::string_view url) {
    auto u = urls::parse_absolute_uri(url);
    if (!u) return {};
    return std::string(u->encoded_host_and_port());
}

bool ieq(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// q of one media range's parameters ("q=0.8"); 1 when absent, -1 when malformed.
double q_value(std::string_view params) {
    double q = 1;
    while (!params.empty()) {
        const auto semi = params.find(';');
        auto p = trim(params.substr(0, semi));
        params = semi == std::string_view::npos ? std::string_view() : params.substr(semi + 1);
        if (p.size() < 2 || !(p[0] == 'q' || p[0] == 'Q') || trim(p.substr(1)).substr(0, 1) != "=") continue;
        auto v = trim(trim(p.substr(1)).substr(1));
        // qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
        if (v.empty() || v.size() > 5 || (v[0] != '0' && v[0] != '1')) return -1;
        double whole = v[0] - '0', frac = 0, scale = 0.1;
        if (v.size() > 1) {
            if (v[1] != '.') return -1;
            for (char c : v.substr(2)) {
                if (c < '0' || c > '9') return -1;
                frac += (c - '0') * scale;
                scale /= 10;
            }
        }
        q = whole + frac;
        if (q > 1) return -1;
    }
    return q;
}

void append_template(std::string& out, const PageTemplate& page, const DenyInfo& info) {
    const std::string outcome(to_string(info.outcome));
    for (const auto& piece : page.pieces) {
        if (const auto* text = std::get_if<std::string>(&piece)) {
            out += *text;
            continue;
        }
        switch (std::get<PageField>(piece)) {
            case PageField::RequestId: out += html_escape(info.request_id); break;
            case PageField::Outcome: out += html_escape(outcome); break;
            case PageField::Reason: out += html_escape(info.reason); break;
            case PageField::Help: out += html_escape(info.help); break;
            case PageField::HelpUrl: out += html_escape(info.help_url); break;
            case PageField::Time: out += html_escape(info.time); break;
        }
    }
}

// "Check again" (README: `intune.recheck_interval_s`): a form posting back to the gateway, which
// looks the device up again and returns the browser to `back` (checked again there).
void append_recheck_form(std::string& out, std::string_view back) {
    if (back.empty()) return;
    out += "<form method=\"post\" action=\"";
    out += recheck_path;
    out += "\"><input type=\"hidden\" name=\"return\" value=\"";
    out += html_escape(back);
    out +=
        "\"><button class=\"button\" type=\"submit\">Check again</button></form>\n"
        "<p class=\"note\">Fixed it already? Check again asks for your device's status now.</p>\n";
}

}  // namespace

bool prefers_html(std::string_view accept) {
    // For each of the two types: the q of the most specific range that matches it, and how specific.
    struct Best {
        int specificity = -1;
        double q = 0;
    };
    Best html, json;
    auto consider = [](Best& best, int specificity, double q) {
        if (specificity > best.specificity) best = {specificity, q};
    };
    while (!accept.empty()) {
        const auto comma = accept.find(',');
        const auto range = trim(accept.substr(0, comma));
        accept = comma == std::string_view::npos ? std::string_view() : accept.substr(comma + 1);
        const auto semi = range.find(';');
        const auto type = trim(range.substr(0, semi));
        const double q = q_value(semi == std::string_view::npos ? std::string_view() : range.substr(semi + 1));
        if (q < 0) return false;
        const auto slash = type.find('/');
        if (slash == std::string_view::npos) continue;
        const auto major = type.substr(0, slash), minor = type.substr(slash + 1);
        if (major == "*" && minor == "*") {
            consider(html, 0, q);
            consider(json, 0, q);
        } else if (ieq(major, "text") && minor == "*") {
            consider(html, 1, q);
        } else if (ieq(major, "application") && minor == "*") {
            consider(json, 1, q);
        } else if (ieq(type, "text/html")) {
            consider(html, 2, q);
        } else if (ieq(type, "application/json")) {
            consider(json, 2, q);
        }
    }
    return html.q > 0 && html.q > json.q;
}

std::string render_deny_page(const DenyInfo& info, const PageTemplate* custom) {
    std::string out;
    if (custom) {
        append_template(out, *custom, info);
        return out;
    }
    OutcomeText t = texts[static_cast<std::size_t>(info.outcome)];
    std::string title, happened, todo;  // a policy's words come with Graph's text: escaped
    if (info.policy) {
        title = html_escape(info.policy->title);
        happened = html_escape(info.policy->happened);
        todo = html_escape(info.policy->todo);
        t = {title, happened, todo, "device"};
    }
    out.reserve(6000);
    out +=
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "<meta name=\"color-scheme\" content=\"light dark\">\n<meta name=\"robots\" content=\"noindex\">\n<title>";
    out += t.title;
    out += "</title>\n<style>";
    out += style;
    out += "</style>\n</head>\n<body class=\"";
    out += t.tone;
    out += "\">\n<main>\n<div class=\"card\">\n<p class=\"badge\">";
    out += badge_text(t.tone);
    out += "</p>\n<h1>";
    out += t.title;
    out += "</h1>\n<section aria-labelledby=\"what-happened\">\n<h2 id=\"what-happened\">What happened</h2>\n<p>";
    out += t.happened;
    out +=
        "</p>\n</section>\n<section aria-labelledby=\"what-to-do\">\n<h2 id=\"what-to-do\">What you can do</h2>\n<p>";
    out += t.todo;
    out += "</p>\n";
    if (!info.help.empty()) {
        out += "<p class=\"help\">";
        out += html_escape(info.help);
        out += "</p>\n";
    }
    append_recheck_form(out, info.recheck_return);
    if (!info.help_url.empty()) {
        const auto host = url_host(info.help_url);
        out += "<p><a class=\"button\" href=\"";
        out += html_escape(info.help_url);
        out += "\">";
        out += host.empty() ? std::string("Get help") : "Continue to " + html_escape(host);
        out += "</a></p>\n";
    }
    out +=
        "</section>\n<section class=\"desk\" aria-labelledby=\"help-desk\">\n"
        "<h2 id=\"help-desk\">For your help desk</h2>\n<dl>\n<dt>Request ID</dt><dd><code>";
    out += html_escape(info.request_id);
    out += "</code></dd>\n<dt>Time</dt><dd>";
    out += html_escape(info.time);
    out += "</dd>\n<dt>Result</dt><dd>";
    out += info.result.empty() ? std::string(to_string(info.outcome)) : html_escape(info.result);
    out += " (HTTP ";
    out += std::to_string(info.status);
    out += ")</dd>\n";
    if (!info.reason.empty()) {
        out += "<dt>Details</dt><dd>";
        out += html_escape(info.reason);
        out += "</dd>\n";
    }
    out += "</dl>\n</section>\n</div>\n</main>\n</body>\n</html>\n";
    return out;
}

RejectReply render_reject(const OutcomeAction& action, const Verdict& verdict, std::string_view request_id,
                          std::string_view accept, std::chrono::system_clock::time_point now,
                          std::string_view recheck_return, const PolicyCheck* policy) {
    if (policy && (!policy->policy || !policy->failure)) policy = nullptr;
    RejectReply reply;
    reply.status = action.status;
    reply.headers = {{"Cache-Control", "no-store"}, {"Vary", "Accept"}};
    if (prefers_html(accept)) {
        const auto time = page_time(now);
        const std::string reason = policy ? one_line(policy->failure->detail, 300) : client_reason(verdict);
        DenyInfo info{verdict.outcome,
                      action.status,
                      request_id,
                      reason,
                      action.help,
                      action.help_url,
                      time,
                      verdict.outcome == Outcome::NoId ? std::string_view() : recheck_return};
        PolicyWords words;
        std::string result;
        if (policy) {
            words = policy_words(*policy, verdict);
            result = policy_reason(*policy);
            info.policy = &words;
            info.result = result;
        }
        reply.content_type = "text/html; charset=utf-8";
        reply.body = render_deny_page(info, action.page.get());
        reply.headers.emplace_back("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'");
        reply.headers.emplace_back("X-Content-Type-Options", "nosniff");
        reply.headers.emplace_back("Referrer-Policy", "no-referrer");
        return reply;
    }
    reply.content_type = "application/json";
    reply.body = policy ? policy_reject_body(*policy, verdict, request_id) : reject_body(verdict, request_id);
    return reply;
}

std::string original_url(std::string_view host, std::string_view target) {
    if (host.empty() || target.empty() || target.front() != '/') return {};
    auto authority = urls::parse_authority(host);
    if (!authority || authority->has_userinfo() || authority->host_type() == urls::host_type::none) return {};
    if (!urls::parse_origin_form(target)) return {};
    std::string url = "https://";
    url += host;
    url += target;
    if (!urls::parse_absolute_uri(url)) return {};
    return url;
}

std::string redirect_location(std::string_view location, std::string_view request_id, std::string_view return_url) {
    return fill_location(location, request_id, return_url).text;  // the config check allows no unknown placeholder
}

std::string page_time(std::chrono::system_clock::time_point t) {
    const auto tt = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
    return buf;
}

}  // namespace ig
