#!/usr/bin/env bash
# What the upstream receives: device facts and apps, and nothing a client tried to smuggle in.
source "$(dirname "$0")/lib.sh"
start_all

gw_curl compliant -o "$T/body" -H 'Host: app.example' \
  -H 'X-Intune-Outcome: Compliant-spoofed' -H 'X-Intune-Device: c3Bvb2Y' -H 'x-intune-compliance-state: compliant' \
  -H 'X-Intune-Device-Id: 3f2504e0-4f89-41d3-9a0c-0305e82c3302' -H 'X-Forwarded-For: 6.6.6.6' \
  -H 'X-Forwarded-Host: evil.example' -H 'Forwarded: for=6.6.6.6' -H 'X-Auth-Level: 9' \
  -H 'Connection: keep-alive, X-Hop' -H 'X-Hop: secret' -H 'X-Request-Id: spoofed' -H 'Authorization: Bearer abc' \
  -H 'X-Intune-Error: spoofed' -H 'X-Intune-Anything: spoofed' -H 'x-forwarded-port: 6666' \
  -H 'X-Managed-By: spoofed' -H 'X-Forwarded-Proto: http' \
  "$GW/path/x?q=1"
b=$T/body
expect_eq "target" "$(json_get "$b" 'd["target"]')" "/path/x?q=1"
expect_eq "Host kept" "$(json_get "$b" 'h("Host")')" app.example
expect_eq "device id (lower case)" "$(json_get "$b" 'h("X-Intune-Device-Id")')" 3f2504e0-4f89-41d3-9a0c-0305e82c3301
expect_eq "outcome" "$(json_get "$b" 'h("X-Intune-Outcome")')" Compliant
expect_eq "state" "$(json_get "$b" 'h("X-Intune-Compliance-State")')" compliant
expect_eq "auth level from config" "$(json_get "$b" 'h("X-Auth-Level")')" 2
expect_eq "X-Forwarded-For" "$(json_get "$b" 'h("X-Forwarded-For")')" 127.0.0.1
expect_eq "X-Forwarded-Proto" "$(json_get "$b" 'h("X-Forwarded-Proto")')" https
expect_eq "X-Forwarded-Host dropped" "$(json_get "$b" 'h("X-Forwarded-Host")')" ""
expect_eq "Forwarded dropped" "$(json_get "$b" 'h("Forwarded")')" ""
expect_eq "Connection-listed header dropped" "$(json_get "$b" 'h("X-Hop")')" ""
expect_eq "Connection dropped" "$(json_get "$b" 'h("Connection")')" ""
expect_eq "Authorization kept" "$(json_get "$b" 'h("Authorization")')" "Bearer abc"
rid=$(json_get "$b" 'h("X-Request-Id")')
[[ $rid =~ ^[0-9a-f]{32}$ ]] || fail "X-Request-Id is not 128-bit hex: $rid"
ok "X-Request-Id replaced: $rid"
# Headers the gateway does not set on this outcome must not come through from the client either:
# X-Intune-Error (only on Error), any other X-Intune-*, X-Forwarded-*, and X-Managed-By (configured
# for ConfigManager only).
expect_eq "no X-Intune-Error on a Compliant forward" "$(json_get "$b" 'h("X-Intune-Error")')" ""
expect_eq "X-Intune-Anything dropped" "$(json_get "$b" 'h("X-Intune-Anything")')" ""
expect_eq "X-Forwarded-Port dropped" "$(json_get "$b" 'h("X-Forwarded-Port")')" ""
expect_eq "X-Managed-By (another outcome's header) dropped" "$(json_get "$b" 'h("X-Managed-By")')" ""
python3 - "$b" <<'PY' || fail "a spoofed value reached the upstream"
import json, sys
for k, v in json.load(open(sys.argv[1]))["headers"]:
    assert not any(bad in v for bad in ("spoof", "6.6.6.6", "evil.example")), (k, v)
PY
ok "no spoofed value in any header the upstream received"

# Device properties: exactly the configured ones, as the emulator has them.
device=$(b64url_decode "$(json_get "$b" 'h("X-Intune-Device")')")
python3 - "$T/devices.json" "$device" <<'PY' || fail "X-Intune-Device differs from the emulator's device"
import json, sys
want_keys = ["id", "deviceName", "complianceState", "operatingSystem", "osVersion", "userPrincipalName"]
dev = json.load(open(sys.argv[1]))["devices"]["3f2504e0-4f89-41d3-9a0c-0305e82c3301"]
got = json.loads(sys.argv[2])
want = {k: dev[k] for k in want_keys if k in dev}
assert got == want, f"got {got}\nwant {want}"
PY
ok "X-Intune-Device matches the emulator"

apps=$(b64url_decode "$(json_get "$b" 'h("X-Intune-Installed-Apps")')")
python3 - "$T/devices.json" "$apps" <<'PY' || fail "X-Intune-Installed-Apps differs from the emulator's apps"
import json, sys
dev = json.load(open(sys.argv[1]))["devices"]["3f2504e0-4f89-41d3-9a0c-0305e82c3301"]
got = json.loads(sys.argv[2])
want = [{k: a.get(k) for k in ("displayName", "version", "publisher")} for a in dev["detectedApps"]]
norm = lambda l: sorted(json.dumps(x, sort_keys=True) for x in l)
assert norm(got) == norm(want), f"got {got}\nwant {want}"
assert len(want) > 2, "the emulator pages apps by 2: need more than one page to test paging"
PY
ok "X-Intune-Installed-Apps matches the emulator (all pages)"

# The CR/LF certificate: NoId and no injected header, on a forward too.
write_config '{"outcomes":{"NoId":{"action":"forward"}}}'
kill "$GW_PID"; wait "$GW_PID" 2>/dev/null || true
start_gateway
gw_curl crlf -o "$b" "$GW/"
expect_eq "crlf: outcome" "$(json_get "$b" 'h("X-Intune-Outcome")')" NoId
expect_eq "crlf: no injected header" "$(json_get "$b" 'h("X-Evil")')" ""
expect_eq "crlf: no device id" "$(json_get "$b" 'h("X-Intune-Device-Id")')" ""
python3 - "$b" <<'PY' || fail "a header value carries a control character"
import json, sys
for k, v in json.load(open(sys.argv[1]))["headers"]:
    assert not any(ord(c) < 32 and c != "\t" for c in k + v), (k, v)
PY
ok "no control characters in any header"

# With device properties and apps off the gateway sets neither header: a client's copies must still go.
write_config '{"intune":{"save_device_properties":false,"device_properties":[],"save_installed_apps":false}}'
kill "$GW_PID"; wait "$GW_PID" 2>/dev/null || true
start_gateway
gw_curl compliant -o "$b" -H 'X-Intune-Installed-Apps: c3Bvb2Y' -H 'X-Intune-Device: c3Bvb2Y' \
  -H 'X-Intune-Compliance-State: compliant' "$GW/apps-off"
expect_eq "apps off: outcome" "$(json_get "$b" 'h("X-Intune-Outcome")')" Compliant
expect_eq "apps off: spoofed X-Intune-Installed-Apps dropped" "$(json_get "$b" 'h("X-Intune-Installed-Apps")')" ""
expect_eq "properties off: spoofed X-Intune-Device dropped" "$(json_get "$b" 'h("X-Intune-Device")')" ""
echo "PASS $TEST_NAME"
