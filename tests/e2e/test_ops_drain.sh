#!/usr/bin/env bash
# e2e (operations): SIGTERM drains. A request in flight to a slow upstream completes, the listener
# stops accepting, /readyz turns 503 during the drain, an idle keep-alive connection does not hold
# the exit back, and the process exits 0.
source "$(dirname "$0")/lib.sh"

ADMIN_PORT=$(free_port)
ADMIN=http://127.0.0.1:$ADMIN_PORT
export INTUNE_CLIENT_SECRET='demo-s3cret+/=&~ x'
start_all "{\"admin\": {\"address\": \"127.0.0.1\", \"port\": $ADMIN_PORT},
            \"intune\": {\"client_secret\": {\"env\": \"INTUNE_CLIENT_SECRET\"}},
            \"limits\": {\"idle_timeout_s\": 60}, \"upstream\": {\"timeout_ms\": 20000}}"
expect_eq "warm-up request" "$(gw_curl compliant -o /dev/null -w '%{http_code}' "$GW/")" 200

# An idle keep-alive connection: it must not keep the gateway alive for its 60 s idle timeout.
python3 - "$GW_PORT" "$PKI" >"$T/idle.log" 2>&1 <<'PY' &
import http.client, ssl, sys, time
port, pki = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=f"{pki}/server-ca.crt")
ctx.load_cert_chain(f"{pki}/device-compliant.crt", f"{pki}/device-compliant.key")
conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=30)
conn.request("GET", "/idle"); r = conn.getresponse(); r.read()
print("idle connection open", r.status, flush=True)
start = time.time()
try:
    conn.sock.recv(1)  # b"" on close_notify; an SSL error on a bare TCP close: both mean closed
except TimeoutError:
    print("still open after 30s", flush=True)
    sys.exit(1)
except (OSError, ssl.SSLError):
    pass
print(f"closed by the gateway after {time.time() - start:.1f}s", flush=True)
PY
IDLE_PID=$!
PIDS+=($IDLE_PID)
wait_for_line "$T/idle.log" "idle connection open 200" 10 >/dev/null

# A slow request in flight: the upstream answers after 3 s.
START=$(date +%s.%N)
gw_curl compliant -o "$T/slow.body" -w '%{http_code}' "$GW/slow?ms=3000" >"$T/slow.out" 2>"$T/slow.err" &
SLOW_PID=$!
PIDS+=($SLOW_PID)
for _ in $(seq 50); do curl -s "$ADMIN/metrics" | grep -qx 'intune_gate_open_connections 2' && break; sleep 0.1; done
curl -s "$ADMIN/metrics" | grep -qx 'intune_gate_open_connections 2' || fail "the slow request's connection is not open"
sleep 0.5
kill -TERM "$GW_PID"
TERM_AT=$(date +%s.%N)

# While draining: not ready, no new connections, still running.
for _ in $(seq 20); do [ "$(curl -s -o /dev/null -w '%{http_code}' "$ADMIN/readyz")" = 503 ] && break; sleep 0.1; done
expect_eq "readyz while draining" "$(curl -s -o /dev/null -w '%{http_code}' "$ADMIN/readyz")" 503
expect_eq "a new connection while draining" "$(gw_curl compliant -o /dev/null -w '%{http_code}' --max-time 2 "$GW/" 2>/dev/null || true)" 000
kill -0 "$GW_PID" 2>/dev/null || fail "the gateway exited before the in-flight request finished"
ok "still running while the slow request is in flight"

wait "$SLOW_PID" || true
expect_eq "the in-flight slow request" "$(cat "$T/slow.out")" 200
RC=0; wait "$GW_PID" || RC=$?
END=$(date +%s.%N)
expect_eq "exit status after SIGTERM" "$RC" 0
python3 -c 'import sys; s, t, e, f = map(float, sys.argv[1:])
assert e - s >= 2.9, f"exited {e-s:.1f}s after the slow request began: before it was done"
assert e - t < 8 * f, f"the drain took {e-t:.1f}s: the idle connection held it back"' \
  "$START" "$TERM_AT" "$END" "${IG_WAIT_FACTOR:-1}" || fail "timing"
wait "$IDLE_PID" || true
grep -q "closed by the gateway" "$T/idle.log" || fail "the idle keep-alive connection was not closed"
ok "exit 0 right after the in-flight request; the idle keep-alive connection was closed"

python3 - "$T/gate.log" <<'PY' || fail "log"
import json, sys
records = [json.loads(l) for l in open(sys.argv[1])]
slow = [r for r in records if str(r.get("path", "")).startswith("/slow")]
assert len(slow) == 1 and slow[0]["status"] == 200 and slow[0]["upstream_status"] == 200, slow
assert slow[0]["latency_ms"] >= 2900, slow
PY
ok "the slow request is in the access log with its latency"
