#!/usr/bin/env bash
# e2e (people): deny pages in a real browser. Headless Chromium loads the gateway's reject answer
# for every outcome the way a person's browser does: with its own Accept header, over mTLS with the
# device's certificate (through a small relay that holds the certificate, since a headless browser
# cannot pick one) and, for NoId, straight from the browser to the gateway. It saves a screenshot
# per outcome under BUILD/artifacts/deny-pages/, checks the visible text in the DOM, and checks that
# markup planted in a reason (from Graph) and in the configured help shows as text and runs nothing.
source "$(dirname "$0")/lib.sh"
export INTUNE_CLIENT_SECRET='demo-s3cret+/=&~ x'  # from the environment: a literal would be a warning line

command -v chromium >/dev/null || fail "chromium is not installed (scripts/build.sh installs it)"
ART=$BUILD/artifacts/deny-pages
mkdir -p "$ART"
rm -f "$ART"/*.png

PLANT="<script>document.title='X'</script><img src=x onerror=alert(1)>"  # 63 bytes: within Graph's state cap
HELP_PLANT="Call 555-0100.<script>document.title='pwned'</script><img src=x onerror=\"document.title='img'\">"

make_pki
start_emulator
start_upstream
mkdir -p "$T/pages"
cat >"$T/pages/ConfigManager.html" <<'HTML'
<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Contoso sign-in</title></head>
<body><h1>Contoso: device check</h1><p id="o">{{outcome}}</p><p id="r">{{reason}}</p>
<p id="id">{{request_id}}</p><p id="h">{{help}}</p><p id="t">{{time}}</p></body></html>
HTML
CONFIG=$(python3 - "$HELP_PLANT" <<'PY'
import json, sys
portal = "https://portal.manage.microsoft.com/devices"
outcomes = {
  "Compliant": {"action": "forward"},
  "NotCompliant": {"action": "reject", "status": 403, "help_url": portal,
                   "help": "Contoso IT: the Company Portal app shows what to fix. Questions? Call 555-0100."},
  "InGracePeriod": {"action": "reject", "status": 403, "help_url": portal},
  "ConfigManager": {"action": "reject", "status": 403, "help": "configmgr help"},
  "Conflict": {"action": "reject", "status": 409, "help_url": portal},
  "NoId": {"action": "reject", "status": 401, "help_url": "https://aka.ms/enrollmydevice"},
  "StatusUnknown": {"action": "reject", "status": 403, "help": sys.argv[1], "help_url": portal},
  "Error": {"action": "reject", "status": 503},
}
print(json.dumps({"outcomes": outcomes, "pages_dir": "pages",
                  "intune": {"client_secret": {"env": "INTUNE_CLIENT_SECRET"}, "save_device_properties": False, "device_properties": [], "save_installed_apps": False}}))
PY
)
write_config "$CONFIG"
python3 - "$T/gate.json" "$T/pages" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); c["pages_dir"] = sys.argv[2]; json.dump(c, open(sys.argv[1], "w"))
PY
start_gateway

# Graph names a state this build does not know, holding markup: StatusUnknown, the reason shows it.
emu_ctl PUT /_emulator/devices/3f2504e0-4f89-41d3-9a0c-0305e82c330a \
  "$(python3 -c 'import json,sys; print(json.dumps({"complianceState": sys.argv[1]}))' "$PLANT")" >/dev/null

# The relay: plain HTTP from the browser, mTLS to the gateway with device-<first path segment>'s
# certificate ("none": no certificate). The browser's own headers (Accept!) are passed on as sent.
RELAY_PORT=$(free_port)
python3 - "$RELAY_PORT" "$GW_PORT" "$PKI" "$T/relay-requests.log" >"$T/relay.log" 2>&1 <<'PY' &
import http.client, http.server, ssl, sys
port, gw_port, pki, log = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
class Relay(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        device, _, rest = self.path[1:].partition("/")
        ctx = ssl.create_default_context(cafile=pki + "/server-ca.crt")
        if device != "none":
            ctx.load_cert_chain(pki + "/device-" + device + ".crt", pki + "/device-" + device + ".key")
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "keep-alive")}
        with open(log, "a") as f:
            f.write(device + " " + self.path + " Accept: " + self.headers.get("Accept", "") + "\n")
        conn = http.client.HTTPSConnection("127.0.0.1", gw_port, context=ctx, timeout=20)
        conn.request("GET", "/" + rest, headers=headers)
        r = conn.getresponse()
        body = r.read()
        self.send_response(r.status)
        for k, v in r.getheaders():
            if k.lower() not in ("connection", "keep-alive", "transfer-encoding", "content-length"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a): pass
print("listening", flush=True)
http.server.ThreadingHTTPServer(("127.0.0.1", port), Relay).serve_forever()
PY
PIDS+=($!)
wait_for_line "$T/relay.log" '^listening' 20 >/dev/null
RELAY=http://127.0.0.1:$RELAY_PORT

# browser [chromium args] URL: one headless Chromium run with a fresh profile.
browser() {
  local profile; profile=$(mktemp -d "$T/chromium.XXXXXX")
  timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync --hide-scrollbars \
    --user-data-dir="$profile" "$@" 2>>"$T/chromium.log"
}
dom() { browser --dump-dom "$1" >"$2" || fail "chromium --dump-dom $1"; }
shot() {  # shot FILE WIDTH HEIGHT URL [extra args]
  local file=$1 w=$2 h=$3 url=$4; shift 4
  browser --window-size="$w,$h" --screenshot="$file" "$@" "$url" >/dev/null || fail "chromium --screenshot $url"
  [ -s "$file" ] || fail "no screenshot $file"
}
# text_in FILE TEXT: the DOM holds the text (after HTML escaping of ' as &#39; is undone by the parser)
text_in() { grep -qF -- "$2" "$1" || fail "$(basename "$1"): no '$2'"; }

check_page() {  # check_page OUTCOME DEVICE TITLE STATUS
  local outcome=$1 device=$2 title=$3 status=$4 f="$T/$1.html"
  dom "$RELAY/$device/portal/login?client=web" "$f"
  text_in "$f" "<h1>$title</h1>"
  text_in "$f" "<title>$title</title>"
  text_in "$f" "What happened"
  text_in "$f" "What you can do"
  text_in "$f" "For your help desk"
  text_in "$f" "$outcome (HTTP $status)"
  grep -qE '<code>[0-9a-f]{32}</code>' "$f" || fail "$outcome: no request id on the page"
  grep -qE '[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2} UTC' "$f" || fail "$outcome: no time on the page"
  shot "$ART/$outcome.png" 1280 1000 "$RELAY/$device/portal/login"
  ok "$outcome: page text, request id, time; screenshot $outcome.png"
}

check_page NotCompliant noncompliant "Your device doesn't meet your organization's requirements" 403
text_in "$T/NotCompliant.html" "Open the Company Portal app on this device"
text_in "$T/NotCompliant.html" "Contoso IT: the Company Portal app shows what to fix. Questions? Call 555-0100."
text_in "$T/NotCompliant.html" '<a class="button" href="https://portal.manage.microsoft.com/devices">Continue to portal.manage.microsoft.com</a>'
text_in "$T/NotCompliant.html" "complianceState noncompliant"
check_page InGracePeriod ingraceperiod "Your device needs attention" 403
check_page Conflict conflict "We couldn't confirm that your device is compliant" 409
check_page NoId noid "We couldn't identify your device" 401
text_in "$T/NoId.html" "no valid device id in the client certificate"
check_page StatusUnknown unknown "Your device's status isn't known yet" 403
check_page Error error "We couldn't check your device right now" 503
text_in "$T/Error.html" "This is a problem on our side"
if grep -q 'AADSTS\|graph' "$T/Error.html"; then fail "backend details on the Error page"; fi

# The browser really negotiated: its Accept header went to the gateway, and curl's */* gets JSON.
grep -q '^noncompliant .* Accept: text/html,' "$T/relay-requests.log" || fail "chromium's Accept: $(head -2 "$T/relay-requests.log")"
ok "chromium sent: $(grep -m1 '^noncompliant' "$T/relay-requests.log" | sed 's/.*Accept: //')"
gw_curl noncompliant -D "$T/json.h" -o "$T/json.body" "$GW/portal/login" || fail "curl"
grep -qi '^content-type: application/json' "$T/json.h" || fail "curl did not get JSON: $(cat "$T/json.h")"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["outcome"]=="NotCompliant" and len(d["request_id"])==32, d' "$T/json.body" \
  || fail "JSON body: $(cat "$T/json.body")"
ok "curl (Accept: */*) keeps the JSON body"
gw_curl noncompliant -H 'Accept: text/html' -D "$T/html.h" -o /dev/null "$GW/portal/login" || fail "curl html"
grep -qi "^content-security-policy: default-src 'none'; style-src 'unsafe-inline'" "$T/html.h" || fail "CSP: $(cat "$T/html.h")"
grep -qi '^cache-control: no-store' "$T/html.h" || fail "Cache-Control: $(cat "$T/html.h")"
grep -qi '^content-type: text/html; charset=utf-8' "$T/html.h" || fail "Content-Type: $(cat "$T/html.h")"
ok "page headers: CSP, no-store, text/html"

# Markup from Graph (the reason) and from the config (help) is text; nothing ran.
f="$T/StatusUnknown-planted.html"
dom "$RELAY/newstate/portal/login" "$f"
text_in "$f" "<title>Your device's status isn't known yet</title>"
text_in "$f" "complianceState not known to this build: &lt;script&gt;document.title='X'&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"
text_in "$f" "Call 555-0100.&lt;script&gt;document.title='pwned'&lt;/script&gt;&lt;img src=x onerror=\"document.title='img'\"&gt;"
python3 - "$f" <<'PY' || fail "planted markup became elements"
import html.parser, sys
class P(html.parser.HTMLParser):
    tags = []
    def handle_starttag(self, tag, attrs): self.tags.append(tag)
p = P(); p.feed(open(sys.argv[1]).read())
assert "script" not in p.tags and "img" not in p.tags, p.tags
PY
shot "$ART/StatusUnknown-planted-markup.png" 1280 1100 "$RELAY/newstate/portal/login"
ok "planted <script> and <img onerror> show as text; the title is unchanged"

# The operator's own page from pages_dir, fields escaped.
f="$T/ConfigManager.html"
dom "$RELAY/configmanager/portal/login" "$f"
text_in "$f" "<h1>Contoso: device check</h1>"
text_in "$f" '<p id="o">ConfigManager</p>'
text_in "$f" '<p id="r">complianceState configManager</p>'
text_in "$f" '<p id="h">configmgr help</p>'
grep -qE '<p id="id">[0-9a-f]{32}</p>' "$f" || fail "custom page: no request id"
shot "$ART/ConfigManager-custom-page.png" 1280 600 "$RELAY/configmanager/portal/login"
ok "pages_dir page filled in"

# Pages are read at load: an edited page shows after SIGHUP, a broken one is refused and the old kept.
sed -i 's|<h1>Contoso: device check</h1>|<h1>Contoso: device check, v2</h1>|' "$T/pages/ConfigManager.html"
text_in "$f" "<h1>Contoso: device check</h1>"
kill -HUP "$GW_PID"
wait_for_line "$T/gate.log" '"msg":"config reloaded"' 20 "$GW_PID" >/dev/null
dom "$RELAY/configmanager/portal/login" "$f"
text_in "$f" "<h1>Contoso: device check, v2</h1>"
echo '<p>{{request-id}}</p>' >"$T/pages/ConfigManager.html"
kill -HUP "$GW_PID"
wait_for_line "$T/gate.log" '/pages_dir: .ConfigManager.html.: unknown placeholder.*reload refused' 20 "$GW_PID" >/dev/null
dom "$RELAY/configmanager/portal/login" "$f"
text_in "$f" "<h1>Contoso: device check, v2</h1>"
ok "pages re-read on SIGHUP; a broken page is refused with its JSON path and the old one keeps serving"

# Phone size, and dark mode.
shot "$ART/NotCompliant-phone.png" 390 1100 "$RELAY/noncompliant/portal/login"
shot "$ART/NotCompliant-dark.png" 1280 1000 "$RELAY/noncompliant/portal/login" --force-dark-mode
ok "phone and dark screenshots"

# Straight from the browser to the gateway over TLS, no client certificate (client_certificate
# "optional"): the NoId page.
f="$T/direct.html"
browser --ignore-certificate-errors --dump-dom "$GW/portal/login" >"$f" || fail "chromium direct"
text_in "$f" "<h1>We couldn't identify your device</h1>"
text_in "$f" "no client certificate"
ok "browser straight to the gateway: the NoId page"

ls "$ART"/*.png >/dev/null
ok "screenshots in $ART: $(cd "$ART" && ls *.png | tr '\n' ' ')"
stop_gateway_and_check_log
