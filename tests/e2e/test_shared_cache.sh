#!/usr/bin/env bash
# Two gateway instances on one Redis: one Graph call per device across both, verdicts written by
# one served by the other, foreign, inconsistent and too deeply nested values under our key ignored, Redis killed mid-run without a
# failed request, and Redis used again once it is back.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/redis_lib.sh"

make_pki
EMU_ARGS="--synthetic-devices 200" start_emulator
start_upstream
start_redis
SHARED="{$HEADER_IDS, \"intune\": {\"save_installed_apps\": false, \"timeout_ms\": 3000,
  \"shared_cache\": {\"redis\": \"redis://127.0.0.1:$REDIS_PORT/0\", \"key_prefix\": \"e2e:\", \"timeout_ms\": 250}}}"
start_instance A "$SHARED"
start_instance B "$SHARED"
wait_for_line "$T/gate-A.log" '"msg":"shared cache connected"' 20 "$PID_A" >/dev/null
wait_for_line "$T/gate-B.log" '"msg":"shared cache connected"' 20 "$PID_B" >/dev/null
emu_ctl POST /_emulator/reset >/dev/null

# 1. Ten devices through both instances: five asked at the same moment on both, five first on A then on B.
CURLS=()
for i in 0 1 2 3 4; do
  id=$(syn_id $i)
  dev_curl "$GW_A" "$id" -o "$T/a$i" -w '%{http_code}\n' >"$T/sa$i" & CURLS+=($!)
  dev_curl "$GW_B" "$id" -o "$T/b$i" -w '%{http_code}\n' >"$T/sb$i" & CURLS+=($!)
done
for j in "${CURLS[@]}"; do wait "$j" || fail "a request failed"; done
for i in 0 1 2 3 4; do
  expect_eq "device $i at the same time: A" "$(cat "$T/sa$i")" 200
  expect_eq "device $i at the same time: B" "$(cat "$T/sb$i")" 200
done
for i in 5 6 7 8 10; do
  id=$(syn_id $i)
  expect_eq "device $i via A" "$(dev_curl "$GW_A" "$id" -o "$T/a$i" -w '%{http_code}')" 200
  before=$(device_calls "$id")
  expect_eq "device $i via B" "$(dev_curl "$GW_B" "$id" -o "$T/b$i" -w '%{http_code}')" 200
  expect_eq "device $i: B asked Graph nothing" "$(device_calls "$id")" "$before"
  expect_eq "device $i: B's upstream saw Compliant" "$(json_get "$T/b$i" 'h("X-Intune-Outcome")')" Compliant
done
TWO_INSTANCE_CALLS=$(total_device_calls)
echo "two instances, 10 devices through both: $TWO_INSTANCE_CALLS Graph device calls"
expect_eq "10 devices through two instances: Graph device calls" "$TWO_INSTANCE_CALLS" 10
[ "$(metric "$ADMIN_B" 'intune_gate_shared_cache_lookups_total{result="hit"}')" -ge 5 ] || fail "B counted no shared hits"
expect_eq "shared cache up on A" "$(metric "$ADMIN_A" intune_gate_shared_cache_up)" 1

# 2. What is stored: our versioned JSON naming the device.
rcli GET "e2e:v1:verdict:$(syn_id 5)" >"$T/value.json"
expect_eq "stored value names its device" "$(json_get "$T/value.json" 'd["device_id"]')" "$(syn_id 5)"
expect_eq "stored value format" "$(json_get "$T/value.json" 'd["format"] + "/" + str(d["v"])')" "intune-gate/verdict/2"

# 3. Values planted under our key that must not be believed; devices 19, 29, 39 and 49 are
# noncompliant in Graph, each value says Compliant: one naming another device, one not ours, one
# whose outcome does not follow from its complianceState, one otherwise good value with a member
# nested deeper than outside JSON may be; device 59's value expired a minute ago (left in Redis
# without a Redis TTL, as a stopped clock or a restored dump would leave it).
victim=$(syn_id 19)
# forge FILE DEVICE_NAMED STATE [EXTRA_DEPTH [EXPIRED_S_AGO]]
forge() {
  python3 - "$@" <<'PY'
import json, sys, time
out, named, state = sys.argv[1:4]
depth = int(sys.argv[4]) if len(sys.argv) > 4 else 0
ago = int(sys.argv[5]) * 1000 if len(sys.argv) > 5 else -600000
now = int(time.time() * 1000)
value = {"format": "intune-gate/verdict", "v": 2, "device_id": named, "outcome": "Compliant",
         "compliance_state": state, "reason": "forged", "fetched_at_ms": now - max(ago, 0) - 300000,
         "expires_at_ms": now - ago}
text = json.dumps(value)
if depth: text = text[:-1] + ', "deep": ' + "[" * depth + "]" * depth + "}"
open(out, "w").write(text)
PY
}
forge "$T/forged.json" "$(syn_id 18)" compliant
rcli SET "e2e:v1:verdict:$victim" "$(cat "$T/forged.json")" >/dev/null
rcli SET "e2e:v1:verdict:$(syn_id 29)" 'compliant' >/dev/null
forge "$T/inconsistent.json" "$(syn_id 39)" noncompliant
rcli SET "e2e:v1:verdict:$(syn_id 39)" "$(cat "$T/inconsistent.json")" >/dev/null
forge "$T/deep.json" "$(syn_id 49)" compliant 100
rcli SET "e2e:v1:verdict:$(syn_id 49)" "$(cat "$T/deep.json")" >/dev/null
forge "$T/expired.json" "$(syn_id 59)" compliant 0 60
rcli SET "e2e:v1:verdict:$(syn_id 59)" "$(cat "$T/expired.json")" >/dev/null
emu_ctl POST /_emulator/reset >/dev/null
expect_eq "value naming another device: ignored (NotCompliant redirect)" \
  "$(dev_curl "$GW_A" "$victim" -o /dev/null -w '%{http_code}')" 302
expect_eq "value that is not ours: ignored (NotCompliant redirect)" \
  "$(dev_curl "$GW_A" "$(syn_id 29)" -o /dev/null -w '%{http_code}')" 302
expect_eq "value whose outcome does not follow from its state: ignored (NotCompliant redirect)" \
  "$(dev_curl "$GW_A" "$(syn_id 39)" -o /dev/null -w '%{http_code}')" 302
expect_eq "value nested 100 deep: ignored (NotCompliant redirect)" \
  "$(dev_curl "$GW_A" "$(syn_id 49)" -o /dev/null -w '%{http_code}')" 302
expect_eq "value expired a minute ago: ignored (NotCompliant redirect)" \
  "$(dev_curl "$GW_A" "$(syn_id 59)" -o /dev/null -w '%{http_code}')" 302
expect_eq "ignored values: Graph asked for each" "$(total_device_calls)" 5
ignored=$(metric "$ADMIN_A" 'intune_gate_shared_cache_lookups_total{result="ignored"}')
# Each lookup reads the key before and once more after taking the lock: one or two reads each.
[ "$ignored" -ge 5 ] && [ "$ignored" -le 10 ] || fail "ignored values counted: $ignored"
ok "ignored values counted ($ignored reads)"
grep -q '"msg":"shared cache value ignored"' "$T/gate-A.log" || fail "ignored value not logged"
expect_eq "the forged value was replaced by Graph's answer" \
  "$(rcli GET "e2e:v1:verdict:$victim" | python3 -c 'import json,sys; print(json.load(sys.stdin)["outcome"])')" NotCompliant

# 4. Redis killed in the middle of a run of requests: none fails.
: >"$T/codes"
run() {
  for i in $(seq 40 79); do
    if [ $((i % 2)) = 0 ]; then o=$GW_A; else o=$GW_B; fi
    dev_curl "$o" "$(syn_id $i)" -o /dev/null -w "%{http_code}\n" >>"$T/codes" || echo "curl-failed" >>"$T/codes"
  done
}
run &
RUN=$!
for _ in $(seq 100); do [ "$(wc -l <"$T/codes")" -ge 10 ] && break; sleep 0.05; done
stop_redis
wait "$RUN"
expect_eq "requests during the Redis outage" "$(sort "$T/codes" | uniq -c | awk '{print $2}' | sort | tr '\n' ' ')" "200 302 "
expect_eq "requests answered" "$(wc -l <"$T/codes" | tr -d ' ')" 40
wait_for_line "$T/gate-A.log" '"msg":"shared cache unavailable' 10 >/dev/null
expect_eq "outage logged once on A" "$(grep -c '"msg":"shared cache unavailable' "$T/gate-A.log")" 1
expect_eq "shared cache down in /metrics" "$(metric "$ADMIN_A" intune_gate_shared_cache_up)" 0
expect_eq "/readyz stays green" "$(curl -sS -o /dev/null -w '%{http_code}' "$ADMIN_A/readyz")" 200
# While it is down, each instance still answers from its local cache and Graph.
expect_eq "down: a new device still works" "$(dev_curl "$GW_B" "$(syn_id 90)" -o /dev/null -w '%{http_code}')" 200

# 5. Redis back (empty, same port): both reconnect by themselves and share again.
start_redis "$REDIS_PORT"
for n in A B; do
  for _ in $(seq 200); do
    [ "$(grep -c '"msg":"shared cache connected"' "$T/gate-$n.log")" -ge 2 ] && break; sleep 0.1
  done
  expect_eq "$n reconnected" "$(grep -c '"msg":"shared cache connected"' "$T/gate-$n.log")" 2
done
emu_ctl POST /_emulator/reset >/dev/null
id=$(syn_id 100)
expect_eq "after the outage via A" "$(dev_curl "$GW_A" "$id" -o /dev/null -w '%{http_code}')" 200
expect_eq "after the outage via B" "$(dev_curl "$GW_B" "$id" -o /dev/null -w '%{http_code}')" 200
expect_eq "after the outage: one Graph call for both" "$(total_device_calls)" 1

for n in A B; do
  GW_PID=$(eval echo "\$PID_$n"); cp "$T/gate-$n.log" "$T/gate.log"
  stop_gateway_and_check_log
done
