#!/usr/bin/env bash
# A device fact too large for one header field (Beast's per-field limit is 64 KiB) cannot be
# forwarded faithfully: the client gets 502, the request has its access-log line, the metrics count
# it as answered by the gateway (not as a forward), and the gateway keeps serving.
source "$(dirname "$0")/lib.sh"
make_pki
start_emulator
start_upstream
ADMIN_PORT=$(free_port)
write_config "{\"admin\": {\"address\": \"127.0.0.1\", \"port\": $ADMIN_PORT}}"
start_gateway
ADMIN=http://127.0.0.1:$ADMIN_PORT

# deviceName is one of the saved device properties: 60,000 characters make X-Intune-Device ~80 kB.
name=$(head -c 60000 /dev/zero | tr '\0' n)
emu_ctl PUT /_emulator/devices/3f2504e0-4f89-41d3-9a0c-0305e82c3301 \
  '{"id":"3f2504e0-4f89-41d3-9a0c-0305e82c3301","deviceName":"'"$name"'","complianceState":"compliant"}' >/dev/null
expect_eq "oversized device header: 502" "$(gw_curl compliant -o "$T/body" -w '%{http_code}' "$GW/big")" 502
jq -e '.reason | test("too large")' "$T/body" >/dev/null || fail "502 body: $(head -c 200 "$T/body")"
expect_eq "upstream not reached" "$(upstream_hits)" 0
line=$(wait_for_line "$T/gate.log" '"path":"/big".*"type":"access"')
expect_eq "access log status" "$(jq -r .status <<<"$line")" 502
expect_eq "access log action" "$(jq -r .action <<<"$line")" reject
wait_for_line "$T/gate.log" '"msg":"request not forwarded: a header is too large"' >/dev/null
curl -sS --max-time 10 "$ADMIN/metrics" >"$T/metrics"
expect_eq "not counted as a forward" \
  "$(grep -F 'intune_gate_requests_total{outcome="Compliant",action="forward"}' "$T/metrics" | awk '{print $2}')" 0
expect_eq "counted as answered by the gateway" \
  "$(grep -F 'intune_gate_requests_total{outcome="Compliant",action="reject"}' "$T/metrics" | awk '{print $2}')" 1

# The connection dropped nothing else: other devices still go through.
expect_eq "another device still forwarded" "$(gw_curl ingraceperiod -o /dev/null -w '%{http_code}' "$GW/next")" 200
kill -TERM "$GW_PID"; wait "$GW_PID" || fail "gateway exit status after SIGTERM: $?"
echo "PASS $TEST_NAME"
