#!/usr/bin/env bash
# A device fact larger than an upstream takes in one header line: a 60,000-character deviceName
# (one of the saved device properties) reaches the upstream as an X-Intune-Device line within
# intune.max_device_header_bytes (8192), marked X-Intune-Device-Truncated, and the device is still
# forwarded. The cap keeps every fact header under Beast's 64 KiB per-field limit; the 502 the
# session answers if a header ever exceeded it is covered by unit.proxy.test_headers.
source "$(dirname "$0")/lib.sh"
make_pki
start_emulator
start_upstream
ADMIN_PORT=$(free_port)
write_config "{\"admin\": {\"address\": \"127.0.0.1\", \"port\": $ADMIN_PORT}}"
start_gateway
ADMIN=http://127.0.0.1:$ADMIN_PORT

name=$(head -c 60000 /dev/zero | tr '\0' n)
emu_ctl PUT /_emulator/devices/3f2504e0-4f89-41d3-9a0c-0305e82c3301 \
  '{"id":"3f2504e0-4f89-41d3-9a0c-0305e82c3301","deviceName":"'"$name"'","complianceState":"compliant"}' >/dev/null
expect_eq "device with a huge fact forwarded" "$(gw_curl compliant -o "$T/body" -w '%{http_code}' "$GW/big")" 200
value=$(json_get "$T/body" 'h("X-Intune-Device")')
[ -n "$value" ] || fail "no X-Intune-Device reached the upstream"
header="X-Intune-Device: "
line=$(( ${#value} + ${#header} + 2 ))
[ "$line" -le 8192 ] || fail "X-Intune-Device line is $line bytes"
ok "X-Intune-Device line is $line bytes (cap 8192)"
[ -n "$(json_get "$T/body" 'h("X-Intune-Device-Truncated")')" ] || fail "no X-Intune-Device-Truncated marker"
ok "X-Intune-Device-Truncated marker set"
b64url_decode "$value" | grep -q 'nnnnnnnnnnnnnnnnnnnn' && fail "the oversized deviceName was forwarded in part"
ok "the oversized property was left out whole"
line=$(wait_for_line "$T/gate.log" '"path":"/big".*"type":"access"')
expect_eq "access log status" "$(jq -r .status <<<"$line")" 200
curl -sS --max-time 10 "$ADMIN/metrics" >"$T/metrics"
expect_eq "counted as a forward" \
  "$(grep -F 'intune_gate_requests_total{outcome="Compliant",action="forward"}' "$T/metrics" | awk '{print $2}')" 1

expect_eq "another device still forwarded" "$(gw_curl ingraceperiod -o /dev/null -w '%{http_code}' "$GW/next")" 200
kill -TERM "$GW_PID"; wait "$GW_PID" || fail "gateway exit status after SIGTERM: $?"
echo "PASS $TEST_NAME"
