#!/usr/bin/env bash
# Failures: upstream down (502), upstream slow (504), Graph down (retried, Error within timeout_ms,
# Retry-After in seconds or as an HTTP-date honoured) and back.
source "$(dirname "$0")/lib.sh"
start_all '{"outcomes":{"Error":{"action":"forward"}}, "upstream":{"timeout_ms":1000}}'

# Upstream slower than upstream.timeout_ms: 504.
expect_eq "slow upstream: 504" "$(gw_curl compliant -o /dev/null -w '%{http_code}' "$GW/slow?ms=3000")" 504
expect_eq "fast again: 200" "$(gw_curl compliant -o /dev/null -w '%{http_code}' "$GW/fast")" 200

# The lookup has a hard deadline (timeout_ms, 2 s here). The bounds below are far from it on purpose
# (a loaded machine is slow): each one is what the Graph fault would cost if the deadline were ignored.
calls() { emu_ctl GET /_emulator/stats | jq ".device_requests[\"$1\"] // 0"; }
elapsed_ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
# timed_lookup DEVICE PATH: one request with device-DEVICE's certificate; sets ms (its duration)
# and outcome (the X-Intune-Outcome the upstream received).
timed_lookup() {
  local start; start=$(date +%s%N)
  gw_curl "$1" -o "$T/body" "$GW/$2"
  ms=$(elapsed_ms "$start"); outcome=$(json_get "$T/body" 'h("X-Intune-Outcome")')
}

# Graph answering 503 forever: retried, then Error (forwarded here, with X-Intune-Error).
emu_ctl POST /_emulator/reset >/dev/null
emu_ctl POST '/_emulator/fault/*' '{"status":503,"retry_after":0}' >/dev/null
gw_curl ingraceperiod -o "$T/body" "$GW/graph-down"
# Issue 26 #10: the outage is remembered (5 s when Graph gives no Retry-After): the next lookups,
# of any device, fail fast without asking Graph (10 requests used to make 50 Graph calls).
total_calls() { emu_ctl GET /_emulator/stats | jq '[.device_requests[]] | add // 0'; }
before=$(total_calls)
start=$(date +%s%N)
for i in 1 2 3 4 5; do
  for dev in ingraceperiod unknown; do gw_curl "$dev" -o "$T/held-$dev" "$GW/graph-down-$i"; done
done
ms=$(elapsed_ms "$start"); held_calls=$(( $(total_calls) - before ))
if [ "$ms" -lt 4000 ]; then
  expect_eq "Graph down: 10 more requests within the hold ($ms ms), Graph calls" "$held_calls" 0
  for dev in ingraceperiod unknown; do
    expect_eq "Graph down, held: $dev outcome" "$(json_get "$T/held-$dev" 'h("X-Intune-Outcome")')" Error
    case "$(json_get "$T/held-$dev" 'h("X-Intune-Error")')" in *"back off"*) ok "held: X-Intune-Error says so";;
      *) fail "held: X-Intune-Error is '$(json_get "$T/held-$dev" 'h("X-Intune-Error")')'";; esac
  done
else  # a very slow machine: the 5 s hold may have passed once
  [ "$held_calls" -le 6 ] || fail "Graph down: 10 requests in $ms ms made $held_calls Graph calls"
  ok "Graph down: 10 requests in $ms ms made $held_calls Graph calls"
fi
grep -q '"msg":"graph asked to back off, failing lookups fast until then"' "$T/gate.log" || fail "the hold is not logged"
expect_eq "Graph down: outcome" "$(json_get "$T/body" 'h("X-Intune-Outcome")')" Error
[ -n "$(json_get "$T/body" 'h("X-Intune-Error")')" ] || fail "Graph down: no X-Intune-Error"
ok "Graph down: X-Intune-Error = $(json_get "$T/body" 'h("X-Intune-Error")')"
n=$(calls 3f2504e0-4f89-41d3-9a0c-0305e82c3303)
[ "$n" -ge 2 ] || fail "Graph down: a 503 was not retried ($n calls)"
ok "Graph down: retried ($n calls)"
sleep 5  # the hold passes


# A Retry-After longer than what is left of the deadline: no retry, Error at once instead of after 30 s.
emu_ctl DELETE /_emulator/fault >/dev/null
emu_ctl POST /_emulator/reset >/dev/null
emu_ctl POST '/_emulator/fault/*' '{"status":503,"retry_after":30}' >/dev/null
timed_lookup configmanager graph-retry-after
expect_eq "Retry-After past the deadline: outcome" "$outcome" Error
expect_eq "Retry-After past the deadline: one Graph call, no retry" "$(calls 3f2504e0-4f89-41d3-9a0c-0305e82c3304)" 1
[ "$ms" -lt 20000 ] || fail "Retry-After past the deadline: answered after $ms ms (waited for Graph's 30 s?)"
ok "Retry-After past the deadline: answered in $ms ms"
# Graph's Retry-After (30 s) is remembered: 20 requests in a second make no further call.
before=$(total_calls)
start=$(date +%s%N)
for i in $(seq 1 20); do gw_curl configmanager -o "$T/body" "$GW/throttled-$i"; done
expect_eq "Retry-After 30 s: 20 requests, Graph calls" "$(( $(total_calls) - before ))" 0
expect_eq "Retry-After 30 s: outcome while held" "$(json_get "$T/body" 'h("X-Intune-Outcome")')" Error
ok "20 requests held in $(elapsed_ms "$start") ms"

# A Retry-After within the deadline is honoured: the retry comes no sooner than it says (1 s).
emu_ctl DELETE /_emulator/fault >/dev/null
emu_ctl POST /_emulator/reset >/dev/null
emu_ctl POST '/_emulator/fault/3f2504e0-4f89-41d3-9a0c-0305e82c3304' '{"status":503,"retry_after":1,"times":1}' >/dev/null
write_config '{"outcomes":{"Error":{"action":"forward"}}, "upstream":{"timeout_ms":1000}, "intune":{"timeout_ms":20000}}'
kill "$GW_PID"; wait "$GW_PID" 2>/dev/null || true
mv "$T/gate.log" "$T/gate-1.log"
start_gateway
timed_lookup configmanager graph-retry-after-1s
expect_eq "Retry-After 1 s: the retry's answer" "$outcome" ConfigManager
expect_eq "Retry-After 1 s: two Graph calls" "$(calls 3f2504e0-4f89-41d3-9a0c-0305e82c3304)" 2
[ "$ms" -ge 1000 ] || fail "Retry-After 1 s: retried after $ms ms, before Graph allowed"
ok "Retry-After 1 s honoured (answer after $ms ms)"

# Issue 28 #7: Retry-After as an HTTP-date (RFC 9110 section 10.2.3). The emulator sends a date 4 s
# ahead in whole seconds, so 3 to 4 s away: the retry waits for it (the backoff alone is ~0.1 s).
hold_s() { grep '"msg":"graph asked to back off' "$T/gate.log" | sed -n "${1}p" | jq -r '.hold_s // "none"'; }
emu_ctl POST /_emulator/reset >/dev/null
emu_ctl POST '/_emulator/fault/3f2504e0-4f89-41d3-9a0c-0305e82c3303' '{"status":503,"retry_after_date":4,"times":1}' >/dev/null
timed_lookup ingraceperiod graph-retry-after-date
expect_eq "Retry-After date: the retry's answer" "$outcome" InGracePeriod
expect_eq "Retry-After date: two Graph calls" "$(calls 3f2504e0-4f89-41d3-9a0c-0305e82c3303)" 2
[ "$ms" -ge 2500 ] || fail "Retry-After date 3-4 s ahead: retried after $ms ms, before the date"
ok "Retry-After date honoured (answer after $ms ms)"
# A malformed date is no Retry-After: the usual backoff, then the answer.
emu_ctl DELETE /_emulator/fault >/dev/null
emu_ctl POST '/_emulator/fault/3f2504e0-4f89-41d3-9a0c-0305e82c3301' '{"status":503,"retry_after":"Fri, 32 Foo 2027 25:61:61 GMT","times":1}' >/dev/null
gw_curl compliant -o "$T/body" "$GW/graph-retry-after-garbage"
expect_eq "Retry-After garbage: the retry's answer" "$(json_get "$T/body" 'h("X-Intune-Outcome")')" Compliant
expect_eq "Retry-After garbage: two Graph calls" "$(calls 3f2504e0-4f89-41d3-9a0c-0305e82c3301)" 2
# A date in the past: no wait, and once every retry failed, the default hold (5 s), not none.
emu_ctl DELETE /_emulator/fault >/dev/null
emu_ctl POST '/_emulator/fault/3f2504e0-4f89-41d3-9a0c-0305e82c3305' '{"status":503,"retry_after":"Thu, 01 Jan 2015 00:00:00 GMT"}' >/dev/null
gw_curl conflict -o "$T/body" "$GW/graph-retry-after-past"
expect_eq "Retry-After past date: outcome" "$(json_get "$T/body" 'h("X-Intune-Outcome")')" Error
n=$(calls 3f2504e0-4f89-41d3-9a0c-0305e82c3305)
[ "$n" -ge 2 ] || fail "Retry-After past date: not retried ($n calls)"
expect_eq "Retry-After past date: the default hold (s)" "$(hold_s 1)" 5
sleep 5  # the hold passes
# A date 30 s ahead, past the 20 s deadline: no retry, Error at once, and the whole tenant held until
# the date (25 to 30 s from here; 5 s would mean the date was not read).
emu_ctl DELETE /_emulator/fault >/dev/null
emu_ctl POST '/_emulator/reset' >/dev/null
emu_ctl POST '/_emulator/fault/*' '{"status":429,"retry_after_date":30}' >/dev/null
gw_curl unknown -o "$T/body" "$GW/graph-retry-after-date-30"
expect_eq "Retry-After date 30 s: outcome" "$(json_get "$T/body" 'h("X-Intune-Outcome")')" Error
expect_eq "Retry-After date 30 s: one Graph call, no retry" "$(calls 3f2504e0-4f89-41d3-9a0c-0305e82c3306)" 1
held=$(hold_s 2)
python3 -c 'import sys; sys.exit(not 25 <= float(sys.argv[1]) <= 30)' "$held" || fail "Retry-After date 30 s: held $held s"
ok "Retry-After date 30 s: tenant held $held s"
gw_curl noncompliant -o "$T/body" "$GW/graph-held-by-date"
expect_eq "held by the date: outcome" "$(json_get "$T/body" 'h("X-Intune-Outcome")')" Error
expect_eq "held by the date: Graph calls" "$(total_calls)" 1
emu_ctl DELETE /_emulator/fault >/dev/null
write_config '{"outcomes":{"Error":{"action":"forward"}}, "upstream":{"timeout_ms":1000}}'
kill "$GW_PID"; wait "$GW_PID" 2>/dev/null || true
mv "$T/gate.log" "$T/gate-2.log"
start_gateway

# Graph hanging (latency far beyond the deadline): Error long before Graph would answer.
emu_ctl POST '/_emulator/fault/*' '{"latency_ms":60000}' >/dev/null
timed_lookup conflict graph-slow
expect_eq "Graph slow: outcome" "$outcome" Error
[ "$ms" -lt 30000 ] || fail "Graph slow: answered after $ms ms (Graph's latency is 60 s, timeout_ms 2 s)"
ok "Graph slow: answered in $ms ms"

# Graph back: the next request gets the right answer (Error is never cached).
emu_ctl DELETE /_emulator/fault >/dev/null
gw_curl ingraceperiod -o "$T/body" "$GW/graph-back"
expect_eq "Graph back: outcome" "$(json_get "$T/body" 'h("X-Intune-Outcome")')" InGracePeriod

# Upstream down: 502, and the gateway keeps serving.
kill "$UP_PID"; wait "$UP_PID" 2>/dev/null || true
expect_eq "upstream down: 502" "$(gw_curl compliant -o "$T/body" -w '%{http_code}' "$GW/down")" 502
expect_eq "502 body outcome" "$(json_get "$T/body" 'd.get("outcome")')" Compliant
expect_eq "reject still works while upstream is down" "$(gw_curl conflict -o /dev/null -w '%{http_code}' "$GW/")" 409
echo "PASS $TEST_NAME"
