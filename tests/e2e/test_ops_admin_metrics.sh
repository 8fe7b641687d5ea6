#!/usr/bin/env bash
# e2e (operations): /healthz, /readyz before and after start, /metrics checked against the requests
# sent (and against the Graph emulator's own count), and the log: every line JSON, one access line
# per request with the fields docs/operations.md "Logs" lists, never the client secret or a token.
source "$(dirname "$0")/lib.sh"

ADMIN_PORT=$(free_port)
ADMIN=http://127.0.0.1:$ADMIN_PORT
export INTUNE_CLIENT_SECRET='demo-s3cret+/=&~ x'

make_pki
start_emulator
start_upstream
write_config "{\"admin\": {\"address\": \"127.0.0.1\", \"port\": $ADMIN_PORT},
               \"intune\": {\"client_secret\": {\"env\": \"INTUNE_CLIENT_SECRET\"},
                            \"save_device_properties\": false, \"device_properties\": [], \"save_installed_apps\": false}}"

# Before start nothing answers on the admin port.
expect_eq "readyz before start" "$(curl -s -o /dev/null -w '%{http_code}' "$ADMIN/readyz" || true)" 000

start_gateway
for _ in $(seq 100); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$ADMIN/readyz")" = 200 ] && break
  sleep 0.1
done
READY=$(curl -s "$ADMIN/readyz")
python3 -c 'import json,sys; j=json.loads(sys.argv[1]); assert j["ready"] is True and j["token"] in ("not_tried", "ok"), j' "$READY" \
  || fail "readyz after start: $READY"
ok "readyz 200 after start: $READY"
expect_eq "healthz" "$(curl -s "$ADMIN/healthz")" ok
expect_eq "unknown admin path" "$(curl -s -o /dev/null -w '%{http_code}' "$ADMIN/nope")" 404

# --- requests ------------------------------------------------------------------------------------
status() { gw_curl "$1" -o /dev/null -w '%{http_code}' "$GW$2" 2>/dev/null || true; }
for i in 1 2 3; do expect_eq "compliant request $i" "$(status compliant "/c/$i?code=abc")" 200; done
for i in 1 2; do expect_eq "noncompliant request $i" "$(status noncompliant "/n/$i")" 302; done
expect_eq "certificate without a device id" "$(status noid /x)" 401
expect_eq "certificate from another CA" "$(status other-ca /x)" 000

# --- metrics -------------------------------------------------------------------------------------
curl -sf "$ADMIN/metrics" >"$T/metrics.txt" || fail "GET /metrics"
metric() { awk -v k="$1" '$1 == k { print $2; found = 1 } END { if (!found) print "absent" }' "$T/metrics.txt"; }
for pair in \
  'intune_gate_requests_total{outcome="Compliant",action="forward"}=3' \
  'intune_gate_requests_total{outcome="NotCompliant",action="redirect"}=2' \
  'intune_gate_requests_total{outcome="NoId",action="reject"}=1' \
  'intune_gate_requests_total{outcome="Error",action="reject"}=0' \
  'intune_gate_cache_misses_total=2' \
  'intune_gate_cache_hits_total=3' \
  'intune_gate_token_fetches_total=1' \
  'intune_gate_token_failures_total=0' \
  'intune_gate_token_ok=1' \
  'intune_gate_graph_calls_total{status="200"}=2' \
  'intune_gate_graph_latency_seconds_count=2' \
  'intune_gate_graph_latency_seconds_bucket{le="+Inf"}=2' \
  'intune_gate_upstream_errors_total=0' \
  'intune_gate_log_lines_dropped_total=0'; do
  expect_eq "metric ${pair%=*}" "$(metric "${pair%=*}")" "${pair##*=}"
done
HS=$(awk '$1 ~ /^intune_gate_tls_handshake_failures_total\{/ { n += $2 } END { print n + 0 }' "$T/metrics.txt")
[ "$HS" -ge 1 ] || fail "the refused handshake was not counted"
grep -qx '# TYPE intune_gate_graph_latency_seconds histogram' "$T/metrics.txt" || fail "no histogram TYPE line"
ok "handshake failures counted: $HS"
# The emulator saw exactly the Graph calls the gateway counted.
STATS=$(emu_ctl GET /_emulator/stats) || fail "emulator stats"
python3 -c 'import json,sys; s=json.loads(sys.argv[1]); assert s["graph_requests"] == 2 and s["token_requests"] == 1, s' "$STATS" \
  || fail "emulator stats disagree with the metrics: $STATS"
ok "emulator agrees: $STATS"
for _ in $(seq 50); do curl -s "$ADMIN/metrics" | grep -qx 'intune_gate_open_connections 0' && break; sleep 0.1; done
curl -s "$ADMIN/metrics" | grep -qx 'intune_gate_open_connections 0' || fail "open_connections did not return to 0"
ok "open_connections back to 0"
READY=$(curl -s "$ADMIN/readyz")
python3 -c 'import json,sys; assert json.loads(sys.argv[1])["token"] == "ok"' "$READY" || fail "readyz token state: $READY"
ok "readyz reports the token ok"

# --- the log -------------------------------------------------------------------------------------
kill -TERM "$GW_PID"
RC=0; wait "$GW_PID" || RC=$?
expect_eq "exit status after SIGTERM" "$RC" 0
python3 - "$T/gate.log" <<'PY' || fail "access log"
import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
records = [json.loads(l) for l in lines]  # every line is one JSON object
access = [r for r in records if "request_id" in r and "status" in r]
assert len(access) == 6, f"{len(access)} access lines, expected 6"
fields = ["time", "request_id", "client", "device_id", "outcome", "compliance_state", "action",
          "status", "upstream_status", "latency_ms", "graph_ms", "cache"]
for r in access:
    missing = [f for f in fields if f not in r]
    assert not missing, f"missing {missing} in {r}"
    assert r["client"] == "127.0.0.1", r
    assert r["cache"] in ("hit", "miss"), r
    assert "code=abc" not in json.dumps(r), "the query string was logged"
assert len({r["request_id"] for r in access}) == 6, "request ids are not unique"
by = lambda o: [r for r in access if r["outcome"] == o]
c = by("Compliant")
assert [r["status"] for r in c] == [200] * 3, c
assert all(r["upstream_status"] == 200 and r["device_id"] == "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
           and r["compliance_state"] == "compliant" and r["action"] == "forward" for r in c), c
assert [r["cache"] for r in c] == ["miss", "hit", "hit"], c
assert c[0]["graph_ms"] > 0, c[0]
n = by("NotCompliant")
assert [r["status"] for r in n] == [302] * 2 and all(r["action"] == "redirect" for r in n), n
assert all(r["upstream_status"] in (None, 0) for r in n), n
assert [r["status"] for r in by("NoId")] == [401]
PY
ok "every log line is JSON; 6 access lines with the fields docs/operations.md "Logs" lists"
for needle in 'demo-s3cret' 's3cret%2B' 's3cret+' 'access_token' 'eyJ0eXAi'; do
  if grep -qF -- "$needle" "$T/gate.log"; then fail "the log contains '$needle'"; fi
done
ok "no secret or token in the log"
