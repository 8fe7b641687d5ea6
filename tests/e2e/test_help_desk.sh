#!/usr/bin/env bash
# e2e (people): the help desk's tools. The admin token (401 without it, /healthz and /readyz open),
# GET /devices/{id} (404 before any lookup, the cached verdict with source, age and TTL after),
# POST /devices/{id}/refresh after the user fixed the device (exactly one Graph call, the new verdict
# used by the next request), 400 for a malformed id; redirect placeholders; and
# `intune-gate --explain` on the test PKI's certificates.
source "$(dirname "$0")/lib.sh"
export INTUNE_CLIENT_SECRET='demo-s3cret+/=&~ x'  # from the environment: a literal would be a warning line

ADMIN_PORT=$(free_port)
ADMIN=http://127.0.0.1:$ADMIN_PORT
export IG_ADMIN_TOKEN='hd-t0ken-1234567890abcdef'
NONCOMPLIANT=3f2504e0-4f89-41d3-9a0c-0305e82c3302

make_pki
start_emulator
start_upstream
write_config "{\"admin\": {\"address\": \"127.0.0.1\", \"port\": $ADMIN_PORT, \"token\": {\"env\": \"IG_ADMIN_TOKEN\"}},
               \"intune\": {\"client_secret\": {\"env\": \"INTUNE_CLIENT_SECRET\"}, \"save_device_properties\": false, \"device_properties\": [], \"save_installed_apps\": false},
               \"outcomes\": {\"NotCompliant\": {\"action\": \"redirect\",
                 \"location\": \"https://portal.example/blocked?id={request_id}&back={return_url}\"}}}"
start_gateway

code() { curl -s -o /dev/null -w '%{http_code}' "$@" || true; }
admin() { curl -sS --max-time 20 -H "Authorization: Bearer $IG_ADMIN_TOKEN" "$@"; }

# --- authentication ------------------------------------------------------------------------------
for _ in $(seq 100); do [ "$(code "$ADMIN/readyz")" = 200 ] && break; sleep 0.1; done
expect_eq "readyz needs no token" "$(code "$ADMIN/readyz")" 200
expect_eq "healthz needs no token" "$(code "$ADMIN/healthz")" 200
expect_eq "metrics without a token" "$(code "$ADMIN/metrics")" 401
expect_eq "device without a token" "$(code "$ADMIN/devices/$NONCOMPLIANT")" 401
expect_eq "refresh without a token" "$(code -X POST "$ADMIN/devices/$NONCOMPLIANT/refresh")" 401
expect_eq "unknown path without a token" "$(code "$ADMIN/nope")" 401
expect_eq "wrong token" "$(code -H 'Authorization: Bearer hd-t0ken-1234567890abcdeX' "$ADMIN/metrics")" 401
expect_eq "token prefix only" "$(code -H 'Authorization: Bearer hd-t0ken' "$ADMIN/metrics")" 401
expect_eq "token as Basic" "$(code -H "Authorization: Basic $IG_ADMIN_TOKEN" "$ADMIN/metrics")" 401
expect_eq "metrics with the token" "$(code -H "Authorization: Bearer $IG_ADMIN_TOKEN" "$ADMIN/metrics")" 200
expect_eq "scheme is case-insensitive" "$(code -H "Authorization: bearer $IG_ADMIN_TOKEN" "$ADMIN/metrics")" 200
curl -s -D "$T/401.h" -o /dev/null "$ADMIN/metrics" || true
grep -qi '^WWW-Authenticate: Bearer' "$T/401.h" || fail "401 without WWW-Authenticate: $(cat "$T/401.h")"
ok "401 says Bearer"

# --- malformed and unknown devices ---------------------------------------------------------------
expect_eq "malformed id" "$(code -H "Authorization: Bearer $IG_ADMIN_TOKEN" "$ADMIN/devices/not-a-guid")" 400
expect_eq "malformed id (refresh)" "$(code -X POST -H "Authorization: Bearer $IG_ADMIN_TOKEN" "$ADMIN/devices/3f2504e0-4f89-41d3-9a0c/refresh")" 400
expect_eq "markup as id" "$(code -H "Authorization: Bearer $IG_ADMIN_TOKEN" "$ADMIN/devices/%3Cscript%3E")" 400
expect_eq "nothing cached yet" "$(code -H "Authorization: Bearer $IG_ADMIN_TOKEN" "$ADMIN/devices/$NONCOMPLIANT")" 404
expect_eq "refresh wants POST" "$(code -H "Authorization: Bearer $IG_ADMIN_TOKEN" "$ADMIN/devices/$NONCOMPLIANT/refresh")" 405

# --- a user is turned away; the redirect carries the request id and the way back ----------------
gw_curl noncompliant -D "$T/redirect.h" -o /dev/null "$GW/app/start?x=1" || fail "request"
LOCATION=$(awk 'tolower($1) == "location:" { print $2 }' "$T/redirect.h" | tr -d '\r')
RID=$(awk 'tolower($1) == "x-request-id:" { print $2 }' "$T/redirect.h" | tr -d '\r')
[ ${#RID} = 32 ] || fail "no request id: $(cat "$T/redirect.h")"
expect_eq "redirect location with placeholders filled in" "$LOCATION" \
  "https://portal.example/blocked?id=$RID&back=https%3A%2F%2F127.0.0.1%3A$GW_PORT%2Fapp%2Fstart%3Fx%3D1"

# --- the help desk looks the device up -----------------------------------------------------------
admin "$ADMIN/devices/$NONCOMPLIANT" >"$T/device.json" || fail "GET device"
python3 - "$T/device.json" "$NONCOMPLIANT" <<'PY' || fail "cached verdict: $(cat "$T/device.json")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["device_id"] == sys.argv[2], d
assert d["outcome"] == "NotCompliant" and d["compliance_state"] == "noncompliant", d
assert d["source"] == "graph" and 0 < d["ttl_s"] <= 10 and 0 <= d["age_s"] <= 10, d
PY
ok "cached verdict: $(cat "$T/device.json")"
UPPER=$(echo "$NONCOMPLIANT" | tr a-f A-F)
expect_eq "upper-case id finds the same entry" "$(code -H "Authorization: Bearer $IG_ADMIN_TOKEN" "$ADMIN/devices/$UPPER")" 200

# The user fixes the device; until the TTL runs out the gateway still says NotCompliant ...
emu_ctl PUT "/_emulator/devices/$NONCOMPLIANT" '{"complianceState": "compliant", "deviceName": "LAPTOP-FIXED"}' >/dev/null
expect_eq "still the cached verdict" "$(gw_curl noncompliant -o /dev/null -w '%{http_code}' "$GW/app")" 302
emu_ctl POST /_emulator/reset >/dev/null
# ... until the help desk refreshes it: exactly one Graph call, the new verdict answered and used.
admin -X POST "$ADMIN/devices/$NONCOMPLIANT/refresh" >"$T/refresh.json" || fail "POST refresh"
python3 - "$T/refresh.json" <<'PY' || fail "refreshed verdict: $(cat "$T/refresh.json")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["outcome"] == "Compliant" and d["compliance_state"] == "compliant", d
assert d["source"] == "graph" and 55 <= d["ttl_s"] <= 60 and d["age_s"] == 0, d
PY
ok "refresh answers the new verdict: $(cat "$T/refresh.json")"
expect_eq "the next request is forwarded" "$(gw_curl noncompliant -o /dev/null -w '%{http_code}' "$GW/app")" 200
STATS=$(emu_ctl GET /_emulator/stats)
python3 -c '
import json, sys
s = json.loads(sys.argv[1])
assert s["graph_requests"] == 1 and s["device_requests"].get(sys.argv[2]) == 1, s' "$STATS" "$NONCOMPLIANT" \
  || fail "refresh + request should cost exactly one Graph call: $STATS"
ok "one Graph call for refresh and the next request: $STATS"
grep -q '"msg":"device refresh requested on the admin listener"' "$T/gate.log" || fail "refresh not logged"
if grep -qF "$IG_ADMIN_TOKEN" "$T/gate.log"; then fail "the admin token is in the log"; fi
ok "refresh logged, token not"

# --- intune-gate --explain -----------------------------------------------------------------------
explain() {
  local rc=0
  "$BIN/intune-gate" --explain "$PKI/device-$1.crt" --config "$T/gate.json" >"$T/explain-$1.txt" 2>"$T/explain-$1.err" || rc=$?
  echo "$rc"
}
has() { grep -qF -- "$2" "$T/explain-$1.txt" || fail "--explain $1: no '$2' in: $(cat "$T/explain-$1.txt")"; }

expect_eq "explain compliant: exit" "$(explain compliant)" 0
has compliant "device id:   3f2504e0-4f89-41d3-9a0c-0305e82c3301 (from san_uri)"
has compliant "verifies:    yes"
has compliant "graph:       complianceState compliant"
has compliant "outcome:     Compliant"
has compliant "action:      forward"
ok "explain compliant: $(tr '\n' '|' <"$T/explain-compliant.txt")"

expect_eq "explain cn-only: exit" "$(explain cn-only)" 0
has cn-only "device id:   3f2504e0-4f89-41d3-9a0c-0305e82c3309 (from subject_cn)"

expect_eq "explain other CA: exit" "$(explain other-ca)" 1
has other-ca "verifies:    no: unable to get local issuer certificate"
has other-ca "the TLS handshake is refused"

expect_eq "explain expired: exit" "$(explain expired)" 1
has expired "verifies:    no: certificate has expired"

expect_eq "explain no id: exit" "$(explain noid)" 1
has noid "device id:   none: no source (san_uri, subject_cn) holds a GUID"
has noid "outcome:     NoId"
has noid "action:      reject, status 401"

expect_eq "explain conflict: exit" "$(explain conflict)" 1
has conflict "outcome:     Conflict (complianceState conflict)"
has conflict "action:      reject, status 409"

# With the CRL, the revoked certificate is named as such.
python3 - "$T/gate.json" "$PKI" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); c["tls"]["crl"] = sys.argv[2] + "/device-ca.crl"
json.dump(c, open(sys.argv[1], "w"))
PY
expect_eq "explain revoked: exit" "$(explain revoked)" 1
has revoked "verifies:    no: certificate revoked"

# A bad config or an unreadable certificate: 2.
echo '{"tls": 1}' >"$T/bad.json"
RC=0; "$BIN/intune-gate" --explain "$PKI/device-compliant.crt" --config "$T/bad.json" >/dev/null 2>"$T/bad.err" || RC=$?
expect_eq "explain with a bad config: exit" "$RC" 2
grep -q '^config error: /tls' "$T/bad.err" || fail "no config error line: $(cat "$T/bad.err")"
RC=0; "$BIN/intune-gate" --explain "$T/nothing.pem" --config "$T/gate.json" >/dev/null 2>&1 || RC=$?
expect_eq "explain with no certificate file: exit" "$RC" 2

stop_gateway_and_check_log
