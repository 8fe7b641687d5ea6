#!/usr/bin/env bash
# Microsoft's real behaviours end to end: a device with 300 apps still reaches an upstream that
# takes 8 kB headers (the apps header is capped and marked), and Intune's permission-denied 401
# neither costs a token request per login nor hides what the admin must fix; the request's ID
# reaches Graph as client-request-id.
source "$(dirname "$0")/lib.sh"
start_all
DEV=3f2504e0-4f89-41d3-9a0c-0305e82c3302

# --- 300 apps -------------------------------------------------------------------------------------
python3 - >"$T/many.json" <<'PY'
import json
apps = [{"displayName": "Contoso Line-of-Business App %03d" % i, "version": "10.%d.4711" % i,
         "publisher": "Contoso Ltd."} for i in range(300)]
print(json.dumps({"deviceName": "DEV-LAPTOP", "complianceState": "compliant", "managementAgent": "mdm",
                  "operatingSystem": "Windows", "detectedApps": apps, "apps_page_size": 100}))
PY
emu_ctl PUT "/_emulator/devices/$DEV" "$(cat "$T/many.json")" >/dev/null
status=$(gw_curl noncompliant -o "$T/body" -w '%{http_code}' "$GW/")
expect_eq "a device with 300 apps is forwarded" "$status" 200
expect_eq "apps marker: the total" "$(json_get "$T/body" 'h("X-Intune-Installed-Apps-Truncated")')" 300
value=$(json_get "$T/body" 'h("X-Intune-Installed-Apps")')
name="X-Intune-Installed-Apps: "
line=$(( ${#value} + ${#name} + 2 ))
[ "$line" -le 8192 ] || fail "X-Intune-Installed-Apps line is $line bytes"
ok "X-Intune-Installed-Apps line is $line bytes (cap 8192)"
python3 - "$(b64url_decode "$value")" "$T/many.json" <<'PY' || fail "the capped apps are not whole entries in Graph's order"
import json, sys
got = json.loads(sys.argv[1])
want = json.load(open(sys.argv[2]))["detectedApps"]
assert 20 < len(got) < 300, len(got)
assert got == want[:len(got)], (got[:2], want[:2])
PY
ok "the first apps, whole"

# --- Intune's 401 Forbidden -----------------------------------------------------------------------
before=$(emu_ctl GET /_emulator/stats | jq '.token_requests')
emu_ctl POST '/_emulator/fault/*' '{"status": 401, "body": "intune_forbidden"}' >/dev/null
for i in $(seq 1 10); do
  expect_eq "login $i: Error (reject 503)" "$(gw_curl ingraceperiod -o /dev/null -w '%{http_code}' "$GW/")" 503
done
after=$(emu_ctl GET /_emulator/stats | jq '.token_requests')
expect_eq "no token request for Intune's permission 401" "$((after - before))" 0
line=$(wait_for_line "$T/gate.log" '"msg":"compliance lookup".*Intune denied access' 10)
grep -q 'DeviceManagementManagedDevices.Read.All' <<<"$line" || fail "the log line does not name the permission: $line"
ok "the log says what to fix"
# The lookup's client-request-id is the request's X-Request-Id, as a GUID.
rid=$(grep '"type":"access"' "$T/gate.log" | tail -n 1 | jq -r '.request_id')
guid="${rid:0:8}-${rid:8:4}-${rid:12:4}-${rid:16:4}-${rid:20:12}"
grep -q "client-request-id $guid" "$T/gate.log" || fail "client-request-id $guid not in the log"
ok "client-request-id $guid follows the login to Graph and back"
echo "PASS $TEST_NAME"
