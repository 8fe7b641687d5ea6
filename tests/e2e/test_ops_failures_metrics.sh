#!/usr/bin/env bash
# e2e (operations): failures are visible to an operator. A refused client secret turns /readyz's
# token state to "failing" and counts token failures; Graph 503s are counted by status and agree
# with the emulator; upstream failures are counted; neither secret ends up in the log.
source "$(dirname "$0")/lib.sh"

ADMIN_PORT=$(free_port)
ADMIN=http://127.0.0.1:$ADMIN_PORT
metric() { curl -s "$ADMIN/metrics" | awk -v k="$1" '$1 == k { print $2; found = 1 } END { if (!found) print "absent" }'; }
token_state() { curl -s "$ADMIN/readyz" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])'; }
config() {  # the config for both parts; the secret comes from $INTUNE_CLIENT_SECRET
  write_config "{\"admin\": {\"address\": \"127.0.0.1\", \"port\": $ADMIN_PORT},
                 \"intune\": {\"client_secret\": {\"env\": \"INTUNE_CLIENT_SECRET\"}, \"timeout_ms\": 1500,
                              \"save_device_properties\": false, \"device_properties\": [], \"save_installed_apps\": false}}"
}
make_pki
start_emulator
start_upstream

# --- 1. a wrong client secret -------------------------------------------------------------------
export INTUNE_CLIENT_SECRET='wrong-Secr3t-value'
config
start_gateway
# The token is fetched at start (not on the first request), so a refused secret shows before any request.
for _ in $(seq 50); do [ "$(token_state)" = failing ] && break; sleep 0.1; done
expect_eq "token state before any request" "$(token_state)" failing
expect_eq "request while the token is refused (Error -> 503)" "$(gw_curl compliant -o /dev/null -w '%{http_code}' "$GW/")" 503
expect_eq "token state after a refused secret" "$(token_state)" failing
gw_curl compliant -o "$T/reject.json" "$GW/" || fail "second request failed"
if grep -qE 'AADSTS|66666666-7777' "$T/reject.json"; then fail "the reject body tells the client backend details: $(cat "$T/reject.json")"; fi
ok "the reject body keeps the token refusal's details to the log"
# A refusal is held for 5 s: a burst of lookups does not turn into a burst of token requests. (At
# most one 5 s hold can end during six quick requests on a slow machine, so at most 2 new requests.)
TOKENS=$(emu_ctl GET /_emulator/stats | jq .token_requests)
for i in 1 2 3 4 5 6; do gw_curl compliant -o /dev/null "$GW/burst/$i" || fail "burst request $i"; done
NEW=$(( $(emu_ctl GET /_emulator/stats | jq .token_requests) - TOKENS ))
[ "$NEW" -le 2 ] || fail "six lookups with a refused secret sent $NEW token requests: the refusal is not held"
ok "six lookups with a refused secret sent $NEW token requests"
expect_eq "readyz is still 200 (listening; the token state is reported, not fatal)" \
  "$(curl -s -o /dev/null -w '%{http_code}' "$ADMIN/readyz")" 200
expect_eq "token_ok gauge" "$(metric intune_gate_token_ok)" 0
F=$(metric intune_gate_token_failures_total)
[ "$F" != absent ] && [ "$F" -ge 1 ] || fail "token failures not counted: $F"
expect_eq "Error outcome counted" "$(metric 'intune_gate_requests_total{outcome="Error",action="reject"}')" 8
kill -TERM "$GW_PID"; wait "$GW_PID" || true
if grep -qF 'wrong-Secr3t' "$T/gate.log"; then fail "the refused secret is in the log"; fi
mv "$T/gate.log" "$T/gate-1.log"  # start_gateway reads the port from a fresh gate.log
ok "a refused secret: token failing, counted, not logged"

# --- 2. Graph 503s and a dead upstream ----------------------------------------------------------
export INTUNE_CLIENT_SECRET='demo-s3cret+/=&~ x'
emu_ctl POST /_emulator/reset >/dev/null
emu_ctl POST /_emulator/fault/3f2504e0-4f89-41d3-9a0c-0305e82c3302 '{"status": 503, "retry_after": 0}' >/dev/null
config
start_gateway
expect_eq "request while Graph answers 503 (Error -> 503)" "$(gw_curl noncompliant -o /dev/null -w '%{http_code}' "$GW/")" 503
expect_eq "token state" "$(token_state)" ok
STATS=$(emu_ctl GET /_emulator/stats)
GRAPH=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["graph_requests"])' "$STATS")
[ "$GRAPH" -ge 2 ] || fail "Graph 503 was not retried: $STATS"
expect_eq "graph_calls_total{status=503} = the emulator's count" "$(metric 'intune_gate_graph_calls_total{status="503"}')" "$GRAPH"
expect_eq "latency histogram count" "$(metric intune_gate_graph_latency_seconds_count)" "$GRAPH"
# Error is never cached: a second lookup of the same device goes to Graph again (the emulator sees
# more calls for that device) and counts as a miss, not a hit.
device_calls() { emu_ctl GET /_emulator/stats | jq '.device_requests["3f2504e0-4f89-41d3-9a0c-0305e82c3302"] // 0'; }
FIRST=$(device_calls)
# Graph's outage holds further lookups for 5 s (no Retry-After given; docs/hostile-clients.md
# "Graph budget"): wait it out, so that the second lookup is free to reach Graph.
sleep 6
[ "$FIRST" -ge 1 ] || fail "the emulator saw no call for the device: $(emu_ctl GET /_emulator/stats)"
expect_eq "same device again while Graph answers 503 (Error -> 503)" "$(gw_curl noncompliant -o /dev/null -w '%{http_code}' "$GW/")" 503
SECOND=$(device_calls)
[ "$SECOND" -gt "$FIRST" ] || fail "Error was answered from the cache: Graph saw $FIRST then $SECOND calls for the device"
ok "Error is never cached: the second lookup asked Graph again ($FIRST then $SECOND calls)"
expect_eq "Error is never cached: no cache hit" "$(metric intune_gate_cache_hits_total)" 0
expect_eq "Error is never cached: two misses" "$(metric intune_gate_cache_misses_total)" 2
expect_eq "Error counted twice" "$(metric 'intune_gate_requests_total{outcome="Error",action="reject"}')" 2
kill "$UP_PID"; wait "$UP_PID" 2>/dev/null || true
sleep 6  # the second outage's hold is the tenant's, for every device: wait it out
expect_eq "upstream down (502)" "$(gw_curl compliant -o /dev/null -w '%{http_code}' "$GW/")" 502
U=$(metric intune_gate_upstream_errors_total)
[ "$U" != absent ] && [ "$U" -ge 1 ] || fail "upstream errors not counted: $U"
ok "Graph 503s ($GRAPH calls) and an upstream failure counted"
stop_gateway_and_check_log
