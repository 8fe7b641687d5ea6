#!/usr/bin/env bash
# Microsoft's real behaviours end to end: a device with 300 apps still reaches an upstream that
# takes 8 kB headers (the apps header is capped and marked), an apps @odata.nextLink to another
# origin is not followed, a Graph answer nested too deep is not read, and Intune's permission-denied 401
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

# --- An @odata.nextLink to another origin while reading a device's apps ---------------------------
# Following it would hand the Graph token to that host. The other origin is a real server here (a
# second emulator on https://localhost, trusted by intune.ca_file; the sample upstream on http://),
# so a followed link would show up in its counts. The outcome stands, without the apps header.
start_emulator_as server
other_host=$EMU_AS
three_apps='[{"displayName":"App A","version":"1"},{"displayName":"App B","version":"2"},{"displayName":"App C","version":"3"}]'
for case in "compliant 3f2504e0-4f89-41d3-9a0c-0305e82c3301 $other_host" \
            "configmanager 3f2504e0-4f89-41d3-9a0c-0305e82c3304 $UP"; do
  read -r device id link_origin <<<"$case"
  state=$([ "$device" = compliant ] && echo compliant || echo configManager)
  agent=$([ "$device" = compliant ] && echo mdm || echo configurationManagerClientMdm)
  emu_ctl PUT "/_emulator/devices/$id" "{\"deviceName\":\"DEV-$device\",\"complianceState\":\"$state\",
    \"managementAgent\":\"$agent\",\"detectedApps\":$three_apps,\"apps_page_size\":1,
    \"apps_next_link_host\":\"$link_origin\"}" >/dev/null
  emu_ctl POST /_emulator/reset >/dev/null
  logged=$(grep -c '"msg":"graph nextLink not followed"' "$T/gate.log" || true)
  expect_eq "nextLink to $link_origin: the outcome stands" "$(gw_curl "$device" -o "$T/body" -w '%{http_code}' "$GW/")" 200
  expect_eq "nextLink to $link_origin: no apps header" "$(json_get "$T/body" 'h("X-Intune-Installed-Apps")')" ""
  expect_eq "nextLink to $link_origin: one apps page read" "$(emu_ctl GET /_emulator/stats | jq '.app_requests')" 1
  wait_for_count "$T/gate.log" '"msg":"graph nextLink not followed"' $((logged + 1)) 10
  # The other host is named; an http:// link is refused for its scheme before it has an origin.
  want="\"next_origin\":\"$link_origin\""
  [ "${link_origin%%:*}" = https ] || want='"problem":"must be an https URL"'
  tail -n +$((logged + 1)) "$T/gate.log" | grep '"msg":"graph nextLink not followed"' | grep -qF "$want" ||
    fail "nextLink to $link_origin: the warning does not say $want"
  ok "nextLink to $link_origin: logged ($want)"
done
expect_eq "nothing reached the other host" "$(curl -sS --max-time 10 --cacert "$PKI/server-ca.crt" "$other_host/_emulator/stats" | jq '.graph_requests + .token_requests')" 0
expect_eq "nothing reached the http:// origin" "$(grep -c 'detectedApps' "$T/upstream.log" || true)" 0

# --- A Graph answer nested far too deep ------------------------------------------------------------
# The device's JSON gets a member nested 100 arrays deep (the limit is 64): the answer is not read,
# so the outcome is Error (reject 503), not the device's Conflict.
emu_ctl POST /_emulator/fault/3f2504e0-4f89-41d3-9a0c-0305e82c3305 '{"deep_json":100,"times":1}' >/dev/null
expect_eq "deep Graph JSON: Error" "$(gw_curl conflict -o "$T/body" -w '%{http_code}' "$GW/")" 503
wait_for_line "$T/gate.log" '"msg":"compliance lookup".*nested deeper than 64 levels' 10 >/dev/null
ok "deep Graph JSON: logged as nested too deep"
expect_eq "deep Graph JSON: Error is not cached, the next answer is read" "$(gw_curl conflict -o /dev/null -w '%{http_code}' "$GW/")" 409

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
