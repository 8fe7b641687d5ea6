#!/usr/bin/env bash
# e2e (hostile Redis, issue 26 #15): device properties and installed apps read from the shared cache
# are held to this instance's intune.max_device_header_bytes / max_apps_header_bytes, as Graph's
# answers are. A value planted in Redis with a 70 kB deviceName and 3,000 apps used to make the
# front end answer 502 and the plugin endpoint drop the connection without an answer.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_authz.sh"
source "$(dirname "$0")/redis_lib.sh"

make_pki
start_emulator
start_upstream
start_redis
AUTHZ_PORT=$(free_port)
start_instance A "{\"intune\": {\"save_device_properties\": true, \"save_installed_apps\": true,
  \"max_device_header_bytes\": 2048, \"max_apps_header_bytes\": 4096,
  \"shared_cache\": {\"redis\": \"redis://127.0.0.1:$REDIS_PORT/0\", \"key_prefix\": \"e2e:\", \"timeout_ms\": 500}},
  \"authz\": {\"address\": \"127.0.0.1\", \"port\": $AUTHZ_PORT, \"trusted_peers\": [\"127.0.0.1/32\"]}}"
wait_for_line "$T/gate-A.log" '"msg":"shared cache connected"' 20 "$PID_A" >/dev/null
AUTHZ=http://127.0.0.1:$AUTHZ_PORT
COMPLIANT=3f2504e0-4f89-41d3-9a0c-0305e82c3301

plant() {
  python3 - "$T/planted.json" "$COMPLIANT" <<'PY'
import json, sys, time
now = int(time.time() * 1000)
device = {"deviceName": "n" * 70000, "operatingSystem": "Windows", "osVersion": "10.0.22631"}
for i in range(200): device["extra%03d" % i] = "value-%d" % i
apps = [{"displayName": "app-%d" % i, "version": "1.%d" % i, "publisher": "Contoso"} for i in range(3000)]
json.dump({"format": "intune-gate/verdict", "v": 2, "device_id": sys.argv[2], "outcome": "Compliant",
           "compliance_state": "compliant", "reason": "complianceState compliant", "fetched_at_ms": now,
           "expires_at_ms": now + 600000, "device": json.dumps(device), "apps": json.dumps(apps)},
          open(sys.argv[1], "w"))
PY
  rcli -x SET "e2e:v1:verdict:$COMPLIANT" <"$T/planted.json" >/dev/null
}

# line_bytes FILE HEADER: the bytes of "Name: value\r\n" as the upstream got it (0 when absent).
line_bytes() { json_get "$1" "len('$2: ' + (h('$2') or '') + '\r\n') if h('$2') is not None else 0"; }

plant
emu_ctl POST /_emulator/reset >/dev/null
expect_eq "front end: planted oversized facts, status" \
  "$(gw_curl compliant -o "$T/up.json" -w '%{http_code}' "$GW_A/")" 200
expect_eq "front end: answered from the shared cache (no Graph call)" "$(device_calls "$COMPLIANT")" 0
[ "$(line_bytes "$T/up.json" X-Intune-Device)" -le 2048 ] || fail "X-Intune-Device over its cap"
[ "$(line_bytes "$T/up.json" X-Intune-Device)" -gt 0 ] || fail "X-Intune-Device missing"
[ "$(line_bytes "$T/up.json" X-Intune-Installed-Apps)" -le 4096 ] || fail "X-Intune-Installed-Apps over its cap"
expect_eq "front end: device truncation count" "$(json_get "$T/up.json" 'h("X-Intune-Device-Truncated")')" 203
expect_eq "front end: apps truncation count" "$(json_get "$T/up.json" 'h("X-Intune-Installed-Apps-Truncated")')" 3000

# The plugin endpoint, for the same device.
status=$(authz_check "$T/r" -H "Client-Cert: $(cert_header der compliant)" "$AUTHZ/authz")
expect_eq "/authz: planted oversized facts, status" "$status" 200
device_value=$(header_of "$T/r.head" X-Intune-Device)
[ -n "$device_value" ] && [ ${#device_value} -le 2048 ] || fail "/authz: X-Intune-Device missing or over its cap"
expect_eq "/authz: device truncation count" "$(header_of "$T/r.head" X-Intune-Device-Truncated)" 203
kill -0 "$PID_A" || fail "the gateway died"
ok "caps hold for verdicts from Redis"
