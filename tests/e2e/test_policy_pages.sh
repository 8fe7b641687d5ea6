#!/usr/bin/env bash
# e2e (people): an access policy's deny page per requirement in a real browser (README: Access
# policies). Headless Chromium loads /admin through a relay holding the device certificate (as in
# test_deny_pages.sh); for each requirement failing alone the page names it in plain words, and
# markup Graph planted in the OS version shows as text. Screenshots under
# BUILD/artifacts/policy-pages/<requirement>.png.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/policy_lib.sh"
command -v chromium >/dev/null || fail "chromium is not installed (scripts/build.sh installs it)"
ART=$BUILD/artifacts/policy-pages
mkdir -p "$ART"
rm -f "$ART"/*.png

make_pki
start_emulator
start_upstream
ADMIN_PORT=$(free_port)
write_config "{\"policies\": $POLICIES, \"admin\": {\"address\": \"127.0.0.1\", \"port\": $ADMIN_PORT},
               \"intune\": {\"save_device_properties\": false, \"save_installed_apps\": false,
                           \"cache\": {\"compliant_ttl_s\": 0, \"other_ttl_s\": 0}}}"
start_gateway
ADMIN=http://127.0.0.1:$ADMIN_PORT
DEV=3f2504e0-4f89-41d3-9a0c-0305e82c3301

RELAY_PORT=$(free_port)
python3 - "$RELAY_PORT" "$GW_PORT" "$PKI" >"$T/relay.log" 2>&1 <<'PY' &
import http.client, http.server, ssl, sys
port, gw_port, pki = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
class Relay(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        ctx = ssl.create_default_context(cafile=pki + "/server-ca.crt")
        ctx.load_cert_chain(pki + "/device-compliant.crt", pki + "/device-compliant.key")
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "keep-alive")}
        conn = http.client.HTTPSConnection("127.0.0.1", gw_port, context=ctx, timeout=20)
        conn.request("GET", self.path, headers=headers)
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

browser() {
  local profile; profile=$(mktemp -d "$T/chromium.XXXXXX")
  timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync --hide-scrollbars \
    --user-data-dir="$profile" "$@" 2>>"$T/chromium.log"
}
text_in() { grep -qF -- "$2" "$1" || fail "$(basename "$1"): no '$2'"; }

old=$(python3 -c 'import datetime; print((datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=100)).strftime("%Y-%m-%dT%H:%M:%SZ"))')
while IFS='|' read -r requirement facts title words; do
  set_facts $DEV "$(good_facts)"
  set_facts $DEV "$facts"
  f=$T/$requirement.html
  browser --dump-dom "$RELAY/admin/users" >"$f" || fail "chromium --dump-dom"
  text_in "$f" "<h1>$title</h1>"
  text_in "$f" "$words"
  text_in "$f" "access policy admin: $requirement not met"
  text_in "$f" "Admin pages need a company device &lt;b&gt;up to date&lt;/b&gt;."
  browser --window-size=1280,1000 --screenshot="$ART/$requirement.png" "$RELAY/admin/users" >/dev/null || fail "screenshot"
  [ -s "$ART/$requirement.png" ] || fail "no screenshot for $requirement"
  ok "$requirement: page in plain words; screenshot $requirement.png"
done <<EOT
outcomes|{"complianceState": "inGracePeriod"}|Your device doesn't meet this site's requirements|the result for this device is InGracePeriod
os|{"operatingSystem": "macOS", "osVersion": "13.6.1 <img src=x onerror=alert(1)>"}|Update macOS to use this site|This site needs macOS 14.5 or later; your Mac reports 13.6.1 &lt;img src=x onerror=alert(1)&gt;.
encrypted|{"isEncrypted": false}|Turn on encryption to use this site|Turn on BitLocker
jailbroken|{"jailBroken": "True"}|This site can't be used from this device|is jailbroken or rooted
owner|{"managedDeviceOwnerType": "personal"}|This site needs a company-owned device|it is marked as personal
max_sync_age_h|{"lastSyncDateTime": "$old"}|Your device needs to check in with Intune|within the last 72 hours; its last check-in with Intune 100 hours ago
EOT
if grep -q '<img src="x"' "$T/os.html"; then fail "markup from Graph became an element"; fi
ok "markup from Graph shown as text"
stop_gateway_and_check_log
