#!/usr/bin/env bash
# e2e (operations): SIGINT drains like SIGTERM, and the drain has a bound (10 s): a request still in
# flight after it is cut off, the gateway says so in its log and exits 0 — long before the slow
# upstream would have answered (40 s).
source "$(dirname "$0")/lib.sh"
ADMIN_PORT=$(free_port)
ADMIN=http://127.0.0.1:$ADMIN_PORT
start_all '{"admin":{"address":"127.0.0.1","port":'"$ADMIN_PORT"'},"upstream":{"timeout_ms":60000},"limits":{"idle_timeout_s":120}}'

{ gw_curl compliant -o /dev/null -w '%{http_code}' "$GW/slow?ms=40000" >"$T/slow.out" 2>"$T/slow.err" || true
  date +%s.%N >"$T/slow.done"; } &
SLOW_PID=$!
PIDS+=($SLOW_PID)
wait_for_line "$T/upstream.log" '"target":"/slow' 30 >/dev/null
INT_AT=$(date +%s.%N)
kill -INT "$GW_PID"
wait_until 20 "/readyz answers 503 after SIGINT" sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' '$ADMIN/readyz')\" = 503 ]"
wait_for_line "$T/gate.log" '"msg":"stopping: draining connections".*"signal":2' 10 >/dev/null
ok "SIGINT starts the drain"
RC=0; wait "$GW_PID" || RC=$?
EXIT_AT=$(date +%s.%N)
expect_eq "exit status after a drain past its bound" "$RC" 0
wait_for_line "$T/gate.log" '"msg":"drain deadline passed' 5 >/dev/null
ok "the log says the drain bound passed"
wait "$SLOW_PID" || true
[ "$(cat "$T/slow.out")" != 200 ] || fail "the slow request was answered 200: the bound did not cut it"
python3 -c 'import sys; i, e, d = map(float, sys.argv[1:])
assert e - i >= 9.5, f"exited {e-i:.1f}s after SIGINT: before the 10 s drain bound"
assert e - i < 35, f"exited {e-i:.1f}s after SIGINT: the bound was not applied"
assert d <= e + 5, "the in-flight client was still connected after the gateway exited"' \
  "$INT_AT" "$EXIT_AT" "$(cat "$T/slow.done")" || fail "drain bound"
ok "the in-flight request was cut at the drain bound; exit 0"
