#!/usr/bin/env bash
# The single flight across instances when Graph is slow (docs/shared-state.md, README `shared_cache`): two
# instances on one Redis, Graph answering in 2 s with timeout_ms 3000, eight concurrent first
# requests of one device make exactly one Graph device call; a holder's Error is taken by the
# waiters without a call of their own; and when the instance asking Graph dies mid-lookup
# (kill -9), a waiter takes over and still answers within the lookup deadline.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/redis_lib.sh"

make_pki
EMU_ARGS="--synthetic-devices 50" start_emulator
start_upstream
start_redis
SHARED="{$HEADER_IDS, \"intune\": {\"save_installed_apps\": false, \"timeout_ms\": 3000,
  \"shared_cache\": {\"redis\": \"redis://127.0.0.1:$REDIS_PORT/0\", \"key_prefix\": \"e2e:\", \"timeout_ms\": 250}}}"
start_instance A "$SHARED"
start_instance B "$SHARED"
for n in A B; do wait_for_line "$T/gate-$n.log" '"msg":"shared cache connected"' 20 >/dev/null; done
wait_for_line "$T/gate-A.log" '"msg":"token fetched"' 20 >/dev/null
wait_for_line "$T/gate-B.log" '"msg":"token fetched"' 20 >/dev/null

# burst ID: four requests on A and four on B at once; prints the sorted statuses.
burst() {
  local id=$1 pids=() i
  for i in 1 2 3 4; do
    dev_curl "$GW_A" "$id" -o /dev/null -w '%{http_code}\n' >"$T/burst.a$i" & pids+=($!)
    dev_curl "$GW_B" "$id" -o /dev/null -w '%{http_code}\n' >"$T/burst.b$i" & pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || true; done
  cat "$T"/burst.* | sort | uniq -c | awk '{print $2 "x" $1}' | paste -sd' '
  rm -f "$T"/burst.*
}

# 1. Graph takes 2 s (of the 3 s deadline): the waiters keep waiting past half the deadline.
id=$(syn_id 3)
emu_ctl POST /_emulator/reset >/dev/null
emu_ctl POST "/_emulator/fault/$id" '{"latency_ms":2000,"times":4}' >/dev/null
expect_eq "slow Graph: eight requests on two instances answered" "$(burst "$id")" 200x8
expect_eq "slow Graph: one Graph device call for all eight" "$(device_calls "$id")" 1
waits=$(( $(metric "$ADMIN_A" intune_gate_shared_cache_lock_waits_total) + $(metric "$ADMIN_B" intune_gate_shared_cache_lock_waits_total) ))
expect_eq "one instance waited for the other" "$waits" 1

# 2. The holder's lookup fails (Graph 403 after 1.5 s, not retried): the waiters take its Error.
id=$(syn_id 4)
emu_ctl POST /_emulator/reset >/dev/null
emu_ctl POST "/_emulator/fault/$id" '{"latency_ms":1500,"status":403,"times":20}' >/dev/null
expect_eq "failing Graph: every request gets the Error outcome" "$(burst "$id")" 503x8
expect_eq "failing Graph: only the holder asked Graph" "$(device_calls "$id")" 1
grep -h '"msg":"compliance lookup"' "$T/gate-A.log" "$T/gate-B.log" | grep "$id" >"$T/err.lines"
expect_eq "both instances logged an Error for it" "$(grep -c '"outcome":"Error"' "$T/err.lines")" 2

# 3. The holder dies mid-lookup: A asks Graph (which would take 2.5 s), B waits; A is killed; B
# takes over once the lock lapses (its lease: a sixth of timeout_ms) and answers within its 3 s.
id=$(syn_id 5)
emu_ctl POST /_emulator/reset >/dev/null
emu_ctl POST "/_emulator/fault/$id" '{"latency_ms":2500,"times":1}' >/dev/null
dev_curl "$GW_A" "$id" -o /dev/null >/dev/null 2>&1 &
for _ in $(seq 100); do [ "$(rcli EXISTS "e2e:v1:lock:$id")" = 1 ] && break; sleep 0.02; done
expect_eq "A holds the lock" "$(rcli EXISTS "e2e:v1:lock:$id")" 1
dev_curl "$GW_B" "$id" -o /dev/null -w '%{http_code} %{time_total}\n' >"$T/b.out" & bpid=$!
sleep 0.3
kill -9 "$PID_A"
wait "$bpid" || fail "B's request failed"
read -r status took <"$T/b.out"
expect_eq "B answered after A died" "$status" 200
python3 -c "import sys; sys.exit(0 if float('$took') < 3.0 else 1)" || fail "B took ${took}s, more than the 3 s deadline"
ok "B answered in ${took}s (< 3 s)"
expect_eq "B took the lock over: a second Graph call" "$(device_calls "$id")" 2
grep "$id" "$T/gate-B.log" | grep -q '"msg":"compliance lookup".*"source":"graph"' || fail "B did not ask Graph itself"
echo "PASS $TEST_NAME"
