#!/usr/bin/env bash
# Failures: upstream down (502), upstream slow (504), Graph down (Error within timeout_ms) and back.
source "$(dirname "$0")/lib.sh"
start_all '{"outcomes":{"Error":{"action":"forward"}}, "upstream":{"timeout_ms":1000}}'

# Upstream slower than upstream.timeout_ms: 504.
expect_eq "slow upstream: 504" "$(gw_curl compliant -o /dev/null -w '%{http_code}' "$GW/slow?ms=3000")" 504
expect_eq "fast again: 200" "$(gw_curl compliant -o /dev/null -w '%{http_code}' "$GW/fast")" 200

# Graph answering 503 forever: Error (forwarded here, with X-Intune-Error) within timeout_ms (2 s).
emu_ctl POST '/_emulator/fault/*' '{"status":503}' >/dev/null
start=$(date +%s%N)
gw_curl ingraceperiod -o "$T/body" "$GW/graph-down"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
expect_eq "Graph down: outcome" "$(json_get "$T/body" 'h("X-Intune-Outcome")')" Error
[ -n "$(json_get "$T/body" 'h("X-Intune-Error")')" ] || fail "Graph down: no X-Intune-Error"
ok "Graph down: X-Intune-Error = $(json_get "$T/body" 'h("X-Intune-Error")')"
[ "$ms" -lt 3500 ] || fail "Graph down: answered after $ms ms (timeout_ms is 2000)"
ok "Graph down: answered in $ms ms"

# Graph hanging (latency beyond the timeout): Error within the timeout as well.
emu_ctl DELETE /_emulator/fault >/dev/null
emu_ctl POST '/_emulator/fault/*' '{"latency_ms":10000}' >/dev/null
start=$(date +%s%N)
gw_curl conflict -o "$T/body" "$GW/graph-slow"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
expect_eq "Graph slow: outcome" "$(json_get "$T/body" 'h("X-Intune-Outcome")')" Error
[ "$ms" -lt 3500 ] || fail "Graph slow: answered after $ms ms"
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
