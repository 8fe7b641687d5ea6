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
print(f"closed by the gateway after {time.time() - start:.1f}s at {time.time():.3f}", flush=True)
PY
IDLE_PID=$!
PIDS+=($IDLE_PID)
wait_for_line "$T/idle.log" "idle connection open 200" 10 >/dev/null

# A slow request in flight: the upstream answers after 5 s. SIGTERM goes once the upstream has it.
START=$(date +%s.%N)
{ gw_curl compliant -o "$T/slow.body" -w '%{http_code}' "$GW/slow?ms=5000" >"$T/slow.out" 2>"$T/slow.err"
  date +%s.%N >"$T/slow.done"; } &
SLOW_PID=$!
PIDS+=($SLOW_PID)
wait_for_line "$T/upstream.log" '"target":"/slow' 30 >/dev/null
expect_eq "open connections: the idle one and the slow one" "$(curl -s "$ADMIN/metrics" | awk '$1 == "intune_gate_open_connections" { print $2 }')" 2
kill -TERM "$GW_PID"

# While draining: not ready, no new connections, still running.
wait_until 20 "/readyz answers 503" sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' '$ADMIN/readyz')\" = 503 ]"
expect_eq "readyz while draining" "$(curl -s -o /dev/null -w '%{http_code}' "$ADMIN/readyz")" 503
rc=0; gw_curl compliant -o /dev/null "$GW/" 2>/dev/null || rc=$?
expect_eq "a new connection while draining: refused (curl exit 7)" "$rc" 7
kill -0 "$GW_PID" 2>/dev/null || fail "the gateway exited before the in-flight request finished"
ok "still running while the slow request is in flight"

wait "$SLOW_PID" || true
expect_eq "the in-flight slow request" "$(cat "$T/slow.out")" 200
RC=0; wait "$GW_PID" || RC=$?
expect_eq "exit status after SIGTERM" "$RC" 0
python3 -c 'import sys; s, d = map(float, sys.argv[1:])
assert d - s >= 4.9, f"the slow request ended {d-s:.1f}s after it began: before the upstream answered"' \
  "$START" "$(cat "$T/slow.done")" || fail "the slow request was cut short"
wait "$IDLE_PID" || true
grep -q "closed by the gateway" "$T/idle.log" || fail "the idle keep-alive connection was not closed: $(cat "$T/idle.log")"
# Order, not durations: the idle connection was closed while the slow request was still in flight.
python3 -c 'import sys; i, d = map(float, sys.argv[1:])
assert i < d, "the idle connection was closed only after the in-flight request ended"' \
  "$(sed -n 's/.* at \([0-9.]*\)$/\1/p' "$T/idle.log")" "$(cat "$T/slow.done")" || fail "idle connection held the drain"
ok "exit 0 after the in-flight request; the idle keep-alive connection was closed while it ran"

python3 - "$T/gate.log" <<'PY' || fail "log"
import json, sys
records = [json.loads(l) for l in open(sys.argv[1])]
slow = [r for r in records if str(r.get("path", "")).startswith("/slow")]
assert len(slow) == 1 and slow[0]["status"] == 200 and slow[0]["upstream_status"] == 200, slow
assert slow[0]["latency_ms"] >= 4900, slow
PY
ok "the slow request is in the access log with its latency"
