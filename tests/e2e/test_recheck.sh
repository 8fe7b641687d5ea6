#!/usr/bin/env bash
# e2e (issue 24, docs/people.md "Check again"): "Check again". A device that is not compliant gets the HTML deny page
# with the button (a form to POST /.well-known/intune-gate/recheck, the original path and query in
# its hidden `return` field, HTML-escaped); the user fixes the device (flipped in the emulator);
# the POST drops the cached verdict and asks Graph once, 303s back to the page, and the next request
# is forwarded. A second recheck within intune.recheck_interval_s costs no Graph call; hostile
# `return` values send the browser to `/`; no device ID: 303 without a lookup; the path is never
# forwarded. Plugin mode (the endpoint of the same gateway): the original request's method and URI
# from the proxy's headers, 303 to `/` (nginx dialect: 401 + Location). The page is rendered in
# headless Chromium: BUILD/artifacts/recheck/deny-page.png.
source "$(dirname "$0")/lib.sh"

NC=3f2504e0-4f89-41d3-9a0c-0305e82c3302   # device-noncompliant
CF=3f2504e0-4f89-41d3-9a0c-0305e82c3305   # device-conflict (plugin mode)
make_pki
start_emulator
start_upstream
ADMIN_PORT=$(free_port); AUTHZ_PORT=$(free_port)
write_config "$(python3 - "$ADMIN_PORT" "$AUTHZ_PORT" <<'PY'
import json, sys
print(json.dumps({
  "intune": {"cache": {"compliant_ttl_s": 300, "other_ttl_s": 300}, "save_installed_apps": False,
             "recheck_interval_s": 60},
  "outcomes": {"NotCompliant": {"action": "reject", "status": 403},
               "Conflict": {"action": "reject", "status": 409}},
  "admin": {"address": "127.0.0.1", "port": int(sys.argv[1])},
  "authz": {"address": "127.0.0.1", "port": int(sys.argv[2]), "trusted_peers": ["127.0.0.1/32"]}}))
PY
)"
start_gateway
ADMIN=http://127.0.0.1:$ADMIN_PORT
AUTHZ=http://127.0.0.1:$AUTHZ_PORT
HTML='Accept: text/html'

device_calls() { emu_ctl GET /_emulator/stats | jq --arg id "$1" '.device_requests[$id] // 0'; }
graph_calls() { emu_ctl GET /_emulator/stats | jq '.graph_requests'; }
# recheck DEVICE BODY [curl args]: POSTs the form; writes $T/rc.head, prints the status.
recheck() {
  local device=$1 body=$2; shift 2
  gw_curl "$device" -o /dev/null -D "$T/rc.head" -w '%{http_code}' -H "$HTML" \
    -H 'Content-Type: application/x-www-form-urlencoded' --data-binary "$body" "$@" "$GW/.well-known/intune-gate/recheck"
}
location() { tr -d '\r' <"$T/rc.head" | sed -n 's/^[Ll]ocation: //p'; }
form() { python3 -c 'import sys, urllib.parse; print("return=" + urllib.parse.quote(sys.argv[1], safe=""), end="")' "$1"; }

# 1. The deny page of a device with an ID holds the button; its return value is the page's own
# path and query, escaped.
BACK="/app/page?x=1&q='a'"
status=$(gw_curl noncompliant -o "$T/page.html" -w '%{http_code}' -H "$HTML" "$GW$BACK")
expect_eq "not compliant: deny page" "$status" 403
grep -qF '<form method="post" action="/.well-known/intune-gate/recheck">' "$T/page.html" || fail "no Check again form"
grep -qF '<input type="hidden" name="return" value="/app/page?x=1&amp;q=&#39;a&#39;">' "$T/page.html" ||
  fail "hidden return field missing or not escaped: $(grep -o '<input[^>]*>' "$T/page.html")"
grep -qF '>Check again</button>' "$T/page.html" || fail "no Check again button"
ok "deny page: Check again form, return field escaped"
# A device without an ID has nothing to check again.
gw_curl noid -o "$T/noid.html" -H "$HTML" "$GW/app" >/dev/null
grep -q 'recheck' "$T/noid.html" && fail "NoId page offers Check again"
ok "NoId page: no button"

# The page in a browser (a file: the browser cannot present the device certificate).
if command -v chromium >/dev/null; then
  ART=$BUILD/artifacts/recheck
  mkdir -p "$ART"; rm -f "$ART/deny-page.png"
  profile=$(mktemp -d "$T/chromium.XXXXXX")
  timeout 60 chromium --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking \
    --disable-component-update --disable-sync --hide-scrollbars --user-data-dir="$profile" \
    --window-size=1280,1100 --screenshot="$ART/deny-page.png" "file://$T/page.html" >/dev/null 2>>"$T/chromium.log" ||
    fail "chromium --screenshot"
  [ -s "$ART/deny-page.png" ] || fail "no screenshot"
  ok "screenshot $ART/deny-page.png"
fi

# 2. The user fixes the device; the cached verdict still stands (other_ttl_s 300).
emu_ctl PUT "/_emulator/devices/$NC" '{"complianceState": "compliant"}' >/dev/null
expect_eq "fixed, cached verdict stands" "$(gw_curl noncompliant -o /dev/null -w '%{http_code}' "$GW$BACK")" 403

# 3. Check again: one Graph device call, 303 back to the page, and the page is forwarded.
emu_ctl POST /_emulator/reset >/dev/null
hits=$(upstream_hits)
expect_eq "recheck: status" "$(recheck noncompliant "$(form "$BACK")")" 303
expect_eq "recheck: back to the page" "$(location)" "$BACK"
expect_eq "recheck: exactly one Graph device call" "$(device_calls "$NC")" 1
grep -qi '^cache-control: no-store' "$T/rc.head" || fail "recheck answer may be cached"
expect_eq "recheck: not forwarded" "$(upstream_hits)" "$hits"
expect_eq "after the recheck: forwarded" "$(gw_curl noncompliant -o /dev/null -w '%{http_code}' "$GW$BACK")" 200
expect_eq "after the recheck: no further Graph call" "$(device_calls "$NC")" 1

# 4. Within the interval: no Graph call, the cached verdict stands.
emu_ctl PUT "/_emulator/devices/$NC" '{"complianceState": "noncompliant"}' >/dev/null
expect_eq "second recheck: status" "$(recheck noncompliant "$(form /other)")" 303
expect_eq "second recheck: location" "$(location)" /other
expect_eq "second recheck within the interval: no Graph call" "$(device_calls "$NC")" 1
expect_eq "second recheck: cached verdict stands" "$(gw_curl noncompliant -o /dev/null -w '%{http_code}' "$GW/x")" 200

# 5. Hostile return values: Location is "/" (the value as the form field carries it, then as sent raw).
long=/$(head -c 3000 /dev/zero | tr '\0' a)
n=0
for bad in '//evil.example' '//evil.example/x' '/\evil.example' '\\evil.example' 'https://evil.example' \
           'javascript:alert(1)' '/%0d%0a' '/%0D%0ASet-Cookie:%20x=1' '/%2F/evil.example' '/%5Cevil.example' \
           $'/\r\nSet-Cookie: x=1' $'/\t/evil.example' $'/a\x01' '' 'evil.example' "$long"; do
  status=$(recheck noncompliant "$(form "$bad")")
  expect_eq "hostile return $(printf '%q' "${bad:0:40}"): status" "$status" 303
  expect_eq "hostile return $(printf '%q' "${bad:0:40}"): location" "$(location)" /
  grep -qi '^set-cookie' "$T/rc.head" && fail "a header was injected"
  n=$((n + 1))
done
for body in 'return=%2Fa&return=%2F%2Fevil.example' 'return=%zz' 'nothing=here' ''; do
  recheck noncompliant "$body" >/dev/null
  expect_eq "odd form body '$body': location" "$(location)" /
  n=$((n + 1))
done
expect_eq "hostile returns: no Graph call" "$(device_calls "$NC")" 1

# 6. No device ID: 303, Graph not asked.
calls=$(graph_calls)
expect_eq "no id: status" "$(recheck noid "$(form /app)")" 303
expect_eq "no id: location" "$(location)" /app
expect_eq "no certificate: status" "$(recheck "" "$(form /app)")" 303
expect_eq "no id: Graph not asked" "$(graph_calls)" "$calls"

# 7. The path is never forwarded: a GET is refused by the gateway itself.
hits=$(upstream_hits)
expect_eq "GET recheck: refused" "$(gw_curl compliant -o /dev/null -w '%{http_code}' "$GW/.well-known/intune-gate/recheck")" 405
expect_eq "GET recheck: not forwarded" "$(upstream_hits)" "$hits"

metric() { curl -s --max-time 10 "$ADMIN/metrics" | awk -v k="intune_gate_rechecks_total{result=\"$1\"}" '$1 == k {print $2}'; }
expect_eq "metric rechecked" "$(metric rechecked)" 1
expect_eq "metric rate_limited" "$(metric rate_limited)" $((n + 1))
expect_eq "metric no_device_id" "$(metric no_device_id)" 2

# 8. Plugin mode: the proxy reports the original request; 303 to "/" (nginx: 401 + Location).
cert=$(python3 -c 'import base64, ssl, sys; print(base64.b64encode(ssl.PEM_cert_to_DER_cert(open(sys.argv[1]).read())).decode())' \
  "$PKI/device-conflict.crt")
check() {  # check PATH [curl args]: a check of device-conflict; writes $T/rc.head, prints the status
  local path=$1; shift
  curl -sS --max-time 20 -o /dev/null -D "$T/rc.head" -w '%{http_code}' -H "Client-Cert: $cert" "$@" "$AUTHZ$path"
}
expect_eq "plugin: conflict before" "$(check /authz -H 'X-Forwarded-Uri: /app')" 409
emu_ctl PUT "/_emulator/devices/$CF" '{"complianceState": "compliant"}' >/dev/null
emu_ctl POST /_emulator/reset >/dev/null
expect_eq "plugin: a GET of the path is an ordinary check" \
  "$(check /authz -H 'X-Forwarded-Method: GET' -H 'X-Forwarded-Uri: /.well-known/intune-gate/recheck')" 409
expect_eq "plugin: no method header, no recheck" \
  "$(check /authz -H 'X-Forwarded-Uri: /.well-known/intune-gate/recheck')" 409
expect_eq "plugin: Graph not asked yet" "$(device_calls "$CF")" 0
expect_eq "plugin: recheck status" \
  "$(check /authz -H 'X-Forwarded-Method: POST' -H 'X-Forwarded-Uri: /.well-known/intune-gate/recheck')" 303
expect_eq "plugin: recheck location" "$(location)" /
expect_eq "plugin: one Graph device call" "$(device_calls "$CF")" 1
expect_eq "plugin: fixed device allowed" "$(check /authz -H 'X-Forwarded-Uri: /app')" 200
status=$(check /authz/nginx -H 'X-Original-Method: POST' -H 'X-Original-URI: /.well-known/intune-gate/recheck?a=1')
expect_eq "plugin nginx: status" "$status" 401
expect_eq "plugin nginx: location" "$(location)" /
expect_eq "plugin nginx: X-Intune-Status" "$(tr -d '\r' <"$T/rc.head" | sed -n 's/^[Xx]-[Ii]ntune-[Ss]tatus: //p')" 303
expect_eq "plugin: second recheck within the interval: no Graph call" "$(device_calls "$CF")" 1
expect_eq "plugin: no certificate: 303" \
  "$(curl -sS -o /dev/null -w '%{http_code}' -H 'X-Forwarded-Method: POST' \
     -H 'X-Forwarded-Uri: /.well-known/intune-gate/recheck' "$AUTHZ/authz")" 303
expect_eq "metric rechecked (plugin)" "$(metric rechecked)" 2

expect_gateway_alive
stop_gateway_and_check_log
