#!/usr/bin/env bash
# The bulk sync (one instance holds the lease; a first login then costs no Graph call on either)
# and stale-if-error (Graph failing: the last known answer with X-Intune-Stale, or Error when off).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/redis_lib.sh"

make_pki
EMU_ARGS="--synthetic-devices 200" start_emulator
start_upstream
start_redis

# 1. Sync on, two instances on one Redis, 50 devices a page.
SYNC="{$HEADER_IDS, \"intune\": {\"save_installed_apps\": false,
  \"cache\": {\"compliant_ttl_s\": 600, \"other_ttl_s\": 600, \"max_entries\": 1000},
  \"sync\": {\"interval_s\": 3600, \"page_size\": 50},
  \"shared_cache\": {\"redis\": \"redis://127.0.0.1:$REDIS_PORT\", \"timeout_ms\": 250}}}"
start_instance A "$SYNC"
start_instance B "$SYNC"
for _ in $(seq 300); do
  grep -q '"msg":"device sync done"' "$T/gate-A.log" "$T/gate-B.log" && break; sleep 0.1
done
done_count=$(cat "$T/gate-A.log" "$T/gate-B.log" | grep -c '"msg":"device sync done"' || true)
expect_eq "one instance synced" "$done_count" 1
for _ in $(seq 100); do
  grep -q '"msg":"device sync skipped' "$T/gate-A.log" "$T/gate-B.log" && break; sleep 0.1
done
expect_eq "the other skipped (lease held)" "$(cat "$T/gate-A.log" "$T/gate-B.log" | grep -c '"msg":"device sync skipped' || true)" 1
emu_ctl GET /_emulator/stats >"$T/stats.json"
devices_total=$(( 200 + $(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["devices"]))' "$T/devices.json") ))
pages=$(( (devices_total + 49) / 50 ))
expect_eq "list pages read, once for both instances" "$(json_get "$T/stats.json" 'd.get("list_requests", 0)')" "$pages"
expect_eq "devices listed" "$(json_get "$T/stats.json" 'd.get("listed_devices", 0)')" "$devices_total"
line=$(cat "$T/gate-A.log" "$T/gate-B.log" | grep '"msg":"device sync done"')
expect_eq "sync log: pages" "$(echo "$line" | python3 -c 'import json,sys; print(json.load(sys.stdin)["pages"])')" "$pages"
synced_on=A; grep -q '"msg":"device sync done"' "$T/gate-B.log" && synced_on=B
expect_eq "sync metrics: last pages" "$(metric "$(eval echo "\$ADMIN_$synced_on")" intune_gate_sync_last_pages)" "$pages"

emu_ctl POST /_emulator/reset >/dev/null
expect_eq "first login via A" "$(dev_curl "$GW_A" "$(syn_id 3)" -o "$T/body" -w '%{http_code}')" 200
expect_eq "first login via B" "$(dev_curl "$GW_B" "$(syn_id 4)" -o "$T/body" -w '%{http_code}')" 200
expect_eq "first login via B: outcome" "$(json_get "$T/body" 'h("X-Intune-Outcome")')" Compliant
expect_eq "noncompliant device via A" "$(dev_curl "$GW_A" "$(syn_id 9)" -o /dev/null -w '%{http_code}')" 302
expect_eq "file device via B" "$(dev_curl "$GW_B" 3f2504e0-4f89-41d3-9a0c-0305e82c3304 -o "$T/body" -w '%{http_code}')" 200
expect_eq "file device via B: outcome" "$(json_get "$T/body" 'h("X-Intune-Outcome")')" ConfigManager
expect_eq "first logins after the sync: Graph device calls" "$(total_device_calls)" 0

# An instance that saves installed apps reads a synced verdict from Redis (the list has no apps):
# the device's first request costs one detectedApps read and no device read; the second, nothing.
start_instance E "{$HEADER_IDS, \"intune\": {\"save_installed_apps\": true,
  \"cache\": {\"compliant_ttl_s\": 600, \"other_ttl_s\": 600, \"max_entries\": 1000},
  \"shared_cache\": {\"redis\": \"redis://127.0.0.1:$REDIS_PORT\", \"timeout_ms\": 250}}}"
emu_ctl POST /_emulator/reset >/dev/null
apps_dev=3f2504e0-4f89-41d3-9a0c-0305e82c3301
for round in first second; do
  expect_eq "$round login via E (apps saved)" "$(dev_curl "$GW_E" "$apps_dev" -o "$T/body" -w '%{http_code}')" 200
  apps=$(b64url_decode "$(json_get "$T/body" 'h("X-Intune-Installed-Apps")')")
  expect_eq "$round login via E: apps header" "$(echo "$apps" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" 4
done
emu_ctl GET /_emulator/stats >"$T/stats.json"
expect_eq "E: detectedApps pages read, once" "$(json_get "$T/stats.json" 'd.get("app_requests", 0)')" 2
expect_eq "E: device calls" "$(total_device_calls)" 0

# The emulator's list page has the shape of Graph's (tests/fixtures/graph-managed-devices-page.json).
token=$(curl -sS --max-time 10 --cacert "$PKI/server-ca.crt" --data-urlencode grant_type=client_credentials \
  --data-urlencode client_id=66666666-7777-4888-8999-000000000000 --data-urlencode 'client_secret=demo-s3cret+/=&~ x' \
  --data-urlencode scope=https://graph.microsoft.com/.default \
  "$EMU/11111111-2222-4333-8444-555555555555/oauth2/v2.0/token" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
curl -sS --max-time 10 --cacert "$PKI/server-ca.crt" -H "Authorization: Bearer $token" \
  "$EMU/v1.0/deviceManagement/managedDevices?\$select=id,complianceState,managementAgent,deviceName&\$top=3" >"$T/page.json"
python3 - "$T/page.json" "$TOP/tests/fixtures/graph-managed-devices-page.json" "$EMU" <<'PY' || fail "list page differs from Graph's shape"
import json, sys, urllib.parse
page, fixture, emu = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), sys.argv[3]
assert set(page) == set(fixture), (set(page), set(fixture))
assert page["@odata.context"] == fixture["@odata.context"], page["@odata.context"]
assert len(page["value"]) == 3 and all(set(v) == set(fixture["value"][0]) for v in page["value"]), page["value"]
mine, theirs = urllib.parse.urlsplit(page["@odata.nextLink"]), urllib.parse.urlsplit(fixture["@odata.nextLink"])
assert emu.endswith(mine.netloc) and mine.path == theirs.path, mine
q, fq = urllib.parse.parse_qs(mine.query), urllib.parse.parse_qs(theirs.query)
assert set(q) == set(fq) and q["$select"] == fq["$select"] and q["$top"] == fq["$top"], q
PY
ok "emulator list page matches the fixture's shape"

# 2. stale-if-error: C keeps answers for STALE_S seconds after Graph fails, D fails closed.
STALE="{$HEADER_IDS, \"intune\": {\"save_installed_apps\": false, \"timeout_ms\": 1000,
  \"cache\": {\"compliant_ttl_s\": 1, \"other_ttl_s\": 1, \"max_entries\": 1000}"
STALE_S=8
start_instance C "$STALE, \"stale_if_error_s\": $STALE_S}}"
start_instance D "$STALE}}"
dev=3f2504e0-4f89-41d3-9a0c-0305e82c3301
expect_eq "C: Graph up" "$(dev_curl "$GW_C" "$dev" -o /dev/null -w '%{http_code}')" 200
expect_eq "D: Graph up" "$(dev_curl "$GW_D" "$dev" -o /dev/null -w '%{http_code}')" 200
# A device Graph later says is in complianceState "error" (issue 27's soak): that is Graph's answer
# about the device, not Graph failing, so Error, never its last known verdict.
dev_err=3f2504e0-4f89-41d3-9a0c-0305e82c33e1
emu_ctl PUT "/_emulator/devices/$dev_err" '{"deviceName":"DEV-STATE","complianceState":"compliant","managementAgent":"mdm"}' >/dev/null
expect_eq "C: Graph up (second device)" "$(dev_curl "$GW_C" "$dev_err" -o /dev/null -w '%{http_code}')" 200
sleep 2  # the cache entries expire (TTL 1 s)
emu_ctl PUT "/_emulator/devices/$dev_err" '{"deviceName":"DEV-STATE","complianceState":"error","managementAgent":"mdm"}' >/dev/null
expect_eq "C: complianceState error, stale on: Error" "$(dev_curl "$GW_C" "$dev_err" -o "$T/body" -w '%{http_code}')" 503
expect_eq "C: complianceState error: reject body outcome" "$(json_get "$T/body" 'd["outcome"]')" Error
expect_eq "C: complianceState error: no stale answer" "$(metric "$ADMIN_C" intune_gate_stale_verdicts_total)" 0
emu_ctl POST "/_emulator/fault/$dev" '{"status": 503}' >/dev/null
expect_eq "C: Graph failing, stale on: forwarded" "$(dev_curl "$GW_C" "$dev" -o "$T/body" -w '%{http_code}')" 200
expect_eq "C: outcome" "$(json_get "$T/body" 'h("X-Intune-Outcome")')" Compliant
age=$(json_get "$T/body" 'h("X-Intune-Stale")')
[[ "$age" =~ ^[0-9]+$ ]] && [ "$age" -ge 1 ] && [ "$age" -le "$STALE_S" ] || fail "X-Intune-Stale is '$age'"
ok "X-Intune-Stale: $age"
expect_eq "C: stale answers counted" "$(metric "$ADMIN_C" intune_gate_stale_verdicts_total)" 1
expect_eq "D: Graph failing, stale off: Error" "$(dev_curl "$GW_D" "$dev" -o "$T/body" -w '%{http_code}')" 503
expect_eq "D: reject body outcome" "$(json_get "$T/body" 'd["outcome"]')" Error
emu_ctl DELETE /_emulator/fault >/dev/null
sleep 6  # C holds its lookups for 5 s after Graph's outage (docs/hostile-clients.md "Graph budget")
expect_eq "C: Graph back: fresh answer, no stale mark" "$(dev_curl "$GW_C" "$dev" -o "$T/body" -w '%{http_code}')" 200
expect_eq "C: no X-Intune-Stale" "$(json_get "$T/body" 'h("X-Intune-Stale")')" ""
# An answer older than stale_if_error_s is not used: Error, as with stale off.
fresh=$(date +%s)
emu_ctl POST "/_emulator/fault/$dev" '{"status": 503}' >/dev/null
while [ "$(date +%s)" -le $((fresh + STALE_S + 1)) ]; do sleep 0.2; done
expect_eq "C: last answer older than stale_if_error_s: Error" "$(dev_curl "$GW_C" "$dev" -o "$T/body" -w '%{http_code}')" 503
expect_eq "C: too old for stale: reject body outcome" "$(json_get "$T/body" 'd["outcome"]')" Error
emu_ctl DELETE /_emulator/fault >/dev/null
# The age counts when Graph's failure comes, not when the lookup starts: G's last answer is young
# enough for stale-if-error (3 s) when the request comes, but its lookup uses all of timeout_ms (3 s)
# on a Graph that does not answer: by then the answer is too old, so Error.
start_instance G "{$HEADER_IDS, \"intune\": {\"save_installed_apps\": false, \"timeout_ms\": 3000,
  \"cache\": {\"compliant_ttl_s\": 1, \"other_ttl_s\": 1, \"max_entries\": 1000}, \"stale_if_error_s\": 3}}"
dev_g=3f2504e0-4f89-41d3-9a0c-0305e82c3304
expect_eq "G: Graph up" "$(dev_curl "$GW_G" "$dev_g" -o /dev/null -w '%{http_code}')" 200
sleep 1.5  # expired (TTL 1 s), kept for stale-if-error
emu_ctl POST "/_emulator/fault/$dev_g" '{"latency_ms": 10000}' >/dev/null
expect_eq "G: too old once Graph failed: Error" "$(dev_curl "$GW_G" "$dev_g" -o "$T/body" -w '%{http_code}')" 503
expect_eq "G: too old once Graph failed: reject body outcome" "$(json_get "$T/body" 'd["outcome"]')" Error
expect_eq "G: no stale answer" "$(metric "$ADMIN_G" intune_gate_stale_verdicts_total)" 0
emu_ctl DELETE /_emulator/fault >/dev/null

# 3. A hostile list (issue 26 item 16): page 4's @odata.nextLink leads back to page 2, a cycle of
# three pages (once 100,000 list calls). The run remembers every link: 4 list calls, then it stops.
emu_ctl POST /_emulator/reset >/dev/null
emu_ctl POST /_emulator/fault/list '{"list_cycle": 3}' >/dev/null
start_instance F "{$HEADER_IDS, \"intune\": {\"save_installed_apps\": false, \"sync\": {\"interval_s\": 3600, \"page_size\": 1}}}"
for _ in $(seq 200); do
  grep -q '"msg":"device sync stopped early' "$T/gate-F.log" && break; sleep 0.1
done
line=$(grep '"msg":"device sync stopped early' "$T/gate-F.log" || true)
expect_eq "F: nextLink cycle: reason" "$(echo "$line" | python3 -c 'import json,sys; print(json.load(sys.stdin)["reason"])' 2>/dev/null)" \
  "managedDevices list: @odata.nextLink repeats a page of this run"
emu_ctl GET /_emulator/stats >"$T/stats.json"
expect_eq "F: nextLink cycle: list calls" "$(json_get "$T/stats.json" 'd.get("list_requests", 0)')" 4
emu_ctl DELETE /_emulator/fault >/dev/null

for n in A B C D E F G; do
  GW_PID=$(eval echo "\$PID_$n"); cp "$T/gate-$n.log" "$T/gate.log"
  stop_gateway_and_check_log
done
