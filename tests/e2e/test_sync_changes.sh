#!/usr/bin/env bash
# The changes sync (README: sync.changes_interval_s): between full syncs, the devices that checked in
# since the previous round (managedDevices?$filter=lastSyncDateTime gt T). A device flipped to
# noncompliant is answered NotCompliant within the changes interval with no full listing and no
# per-device lookup; synced verdicts outlive the short per-outcome TTL; an answer with devices the
# filter excludes (Graph ignored it) is discarded whole; on one Redis, one changes round per interval.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/redis_lib.sh"

make_pki
EMU_ARGS="--synthetic-devices 200" start_emulator
start_upstream
start_redis

stat_of() { emu_ctl GET /_emulator/stats >"$T/stats.json"; json_get "$T/stats.json" "$1"; }
# flip ID STATE: the device checks in (the emulator stamps lastSyncDateTime now) with that state.
flip() { emu_ctl PUT "/_emulator/devices/$1" "{\"complianceState\":\"$2\",\"managementAgent\":\"mdm\"}" >/dev/null; }
# wait_code ORIGIN ID CODE SECONDS: polls until the answer is CODE; prints the seconds it took (or "late").
wait_code() {
  local start; start=$(date +%s.%N)
  while :; do
    [ "$(dev_curl "$1" "$2" -o /dev/null -w '%{http_code}')" = "$3" ] && break
    python3 -c "import sys,time; sys.exit(time.time() - $start > $4)" || { echo late; return; }
    sleep 0.1
  done
  python3 -c "import time; print(round(time.time() - $start, 1))"
}
within() { python3 -c "import sys; sys.exit(not ('$1' != 'late' and float('$1') <= $2))"; }

# 1. One instance: TTLs of 1 s, full sync every hour, changes every 2 s.
CHANGES=2
SYNC="\"sync\": {\"interval_s\": 3600, \"page_size\": 100, \"changes_interval_s\": $CHANGES}"
ONE="{$HEADER_IDS, \"intune\": {\"save_installed_apps\": false,
  \"cache\": {\"compliant_ttl_s\": 1, \"other_ttl_s\": 1, \"max_entries\": 1000}, $SYNC}}"
start_instance A "$ONE"
for _ in $(seq 300); do grep -q '"msg":"device sync done"' "$T/gate-A.log" && break; sleep 0.1; done
grep -q '"msg":"device sync done"' "$T/gate-A.log" || fail "A: no full sync"
emu_ctl POST /_emulator/reset >/dev/null
dev=$(syn_id 5)
expect_eq "synced device: forwarded" "$(dev_curl "$GW_A" "$dev" -o "$T/body" -w '%{http_code}')" 200
expect_eq "synced device: outcome" "$(json_get "$T/body" 'h("X-Intune-Outcome")')" Compliant
sleep 1.5  # past compliant_ttl_s: a synced verdict lasts until the next full sync
expect_eq "synced noncompliant device past other_ttl_s" "$(dev_curl "$GW_A" "$(syn_id 9)" -o /dev/null -w '%{http_code}')" 302
expect_eq "synced device past its TTL: still answered" "$(dev_curl "$GW_A" "$dev" -o /dev/null -w '%{http_code}')" 200
expect_eq "synced verdicts past the outcome TTL: Graph device calls" "$(total_device_calls)" 0

emu_ctl POST /_emulator/reset >/dev/null
flip "$dev" noncompliant
took=$(wait_code "$GW_A" "$dev" 302 $((CHANGES * 3)))
within "$took" $((CHANGES + 2)) || fail "flipped device answered NotCompliant after $took s (changes interval $CHANGES s)"
ok "flipped device answered NotCompliant after $took s"
expect_eq "flip: no per-device lookup" "$(total_device_calls)" 0
expect_eq "flip: no full listing (every list call had the filter)" \
  "$(stat_of 'd.get("list_requests", 0) - d.get("filter_requests", 0)')" 0
expect_eq "flip: the filter as sent" \
  "$(stat_of 'all(f.startswith("lastSyncDateTime gt ") and f.endswith("Z") for f in d["filters"])')" True
ok_runs=$(metric "$ADMIN_A" 'intune_gate_sync_changes_total{result="ok"}')
[ "${ok_runs:-0}" -ge 1 ] || fail "changes rounds ok: '$ok_runs'"
ok "changes rounds ok: $ok_runs"

# 2. Graph ignores the filter (every device, paged): the round is discarded whole, verdicts untouched.
dev2=$(syn_id 6)
emu_ctl POST /_emulator/fault/list '{"ignore_filter": true}' >/dev/null
flip "$dev2" noncompliant
for _ in $(seq 100); do
  [ "$(metric "$ADMIN_A" 'intune_gate_sync_changes_total{result="discarded"}')" -ge 1 ] && break; sleep 0.1
done
[ "$(metric "$ADMIN_A" 'intune_gate_sync_changes_total{result="discarded"}')" -ge 1 ] || fail "no discarded changes round"
ok "ignored filter: changes round discarded (counted)"
sleep $CHANGES  # one more round under the fault
expect_eq "ignored filter: verdict untouched" "$(dev_curl "$GW_A" "$dev2" -o /dev/null -w '%{http_code}')" 200
expect_eq "ignored filter: counted by the emulator" "$(stat_of 'd.get("filters_ignored", 0) >= 1')" True
line=$(grep '"msg":"changes sync discarded' "$T/gate-A.log" | tail -1)
echo "$line" | grep -q 'filter was ignored' || fail "discard log line without its reason: $line"
ok "discard logged with its reason"
emu_ctl DELETE /_emulator/fault >/dev/null
# The next round asks again from before the discarded ones: the flip is seen.
took=$(wait_code "$GW_A" "$dev2" 302 $((CHANGES * 3)))
within "$took" $((CHANGES * 3)) || fail "after the fault: flipped device not seen ($took)"
ok "after the fault: the flip missed by the discarded rounds is seen ($took s)"

# 3. Two instances on one Redis: one changes round per interval between them; both answer a flip.
SHARED="{$HEADER_IDS, \"intune\": {\"save_installed_apps\": false,
  \"cache\": {\"compliant_ttl_s\": 1, \"other_ttl_s\": 1, \"max_entries\": 1000}, $SYNC,
  \"shared_cache\": {\"redis\": \"redis://127.0.0.1:$REDIS_PORT\", \"timeout_ms\": 250}}}"
GW_PID=$PID_A; cp "$T/gate-A.log" "$T/gate.log"; stop_gateway_and_check_log
start_instance B "$SHARED"
start_instance C "$SHARED"
for _ in $(seq 300); do
  grep -q '"msg":"device sync done"' "$T/gate-B.log" "$T/gate-C.log" && break; sleep 0.1
done
sleep 1
emu_ctl POST /_emulator/reset >/dev/null
WINDOW=8
sleep $WINDOW
rounds=$(stat_of 'd.get("filter_requests", 0)')
python3 -c "import sys; sys.exit(not (2 <= $rounds <= $WINDOW // $CHANGES + 1))" ||
  fail "two instances, ${WINDOW} s: $rounds changes rounds (one per ${CHANGES} s expected)"
ok "two instances, ${WINDOW} s: $rounds changes rounds"
skipped=$(( $(metric "$ADMIN_B" 'intune_gate_sync_changes_total{result="skipped"}') + \
            $(metric "$ADMIN_C" 'intune_gate_sync_changes_total{result="skipped"}') ))
[ "$skipped" -ge 2 ] || fail "lease: skipped rounds $skipped"
ok "lease: $skipped rounds skipped by the instance without it"
dev3=$(syn_id 7)
expect_eq "B: before the flip" "$(dev_curl "$GW_B" "$dev3" -o /dev/null -w '%{http_code}')" 200
expect_eq "C: before the flip" "$(dev_curl "$GW_C" "$dev3" -o /dev/null -w '%{http_code}')" 200
emu_ctl POST /_emulator/reset >/dev/null
flip "$dev3" noncompliant
# Either instance's round writes the shared cache; the other reads it once its own copy (kept one
# changes interval) is gone: at most two intervals.
took_b=$(wait_code "$GW_B" "$dev3" 302 $((CHANGES * 4)))
took_c=$(wait_code "$GW_C" "$dev3" 302 $((CHANGES * 4)))
within "$took_b" $((CHANGES * 2 + 2)) || fail "B: flip answered after $took_b s"
within "$took_c" $((CHANGES * 2 + 2)) || fail "C: flip answered after $took_c s"
ok "both instances answer the flip (B $took_b s, then C $took_c s)"
expect_eq "two instances: per-device lookups" "$(total_device_calls)" 0

for n in B C; do
  GW_PID=$(eval echo "\$PID_$n"); cp "$T/gate-$n.log" "$T/gate.log"
  stop_gateway_and_check_log
done
