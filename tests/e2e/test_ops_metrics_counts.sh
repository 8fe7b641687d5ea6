#!/usr/bin/env bash
# e2e (operations): the gateway itself moves each metric, by exactly what was done to it:
# requests refused before a decision (400, 413, 431), completed handshakes, cache entries (and
# hits/misses), Graph calls by status, reloads applied and refused.
source "$(dirname "$0")/lib.sh"
ADMIN_PORT=$(free_port)
ADMIN=http://127.0.0.1:$ADMIN_PORT
export INTUNE_CLIENT_SECRET='demo-s3cret+/=&~ x'
conf='{"admin":{"address":"127.0.0.1","port":'"$ADMIN_PORT"'},"intune":{"client_secret":{"env":"INTUNE_CLIENT_SECRET"},
       "save_installed_apps":false}}'
start_all "$conf"
m() { admin_metric "$1"; }
expect_eq "rejected at start" "$(m intune_gate_requests_rejected_total)" 0
expect_eq "handshakes at start" "$(m intune_gate_tls_handshakes_total)" 0
expect_eq "cache entries at start" "$(m intune_gate_cache_entries)" 0

# Refused before a decision: one 400, one 413, one 431.
printf 'GARBAGE\r\n\r\n' >"$T/req"
[[ $(raw_tls compliant "$T/req") == "HTTP/1.1 400"* ]] || fail "bad request line: no 400"
head -c 5000000 /dev/zero >"$T/huge"
expect_eq "413" "$(gw_curl compliant -o /dev/null -w '%{http_code}' --data-binary "@$T/huge" "$GW/")" 413
expect_eq "431" "$(gw_curl compliant -o /dev/null -w '%{http_code}' -H "X-Big: $(head -c 12000 /dev/zero | tr '\0' a)" "$GW/")" 431
expect_eq "rejected: 400 + 413 + 431" "$(m intune_gate_requests_rejected_total)" 3

# Three devices, four requests: three cache entries, one hit, three misses, three Graph 200s.
before_handshakes=$(m intune_gate_tls_handshakes_total)
for d in compliant noncompliant conflict compliant; do gw_curl $d -o /dev/null "$GW/"; done
expect_eq "cache entries" "$(m intune_gate_cache_entries)" 3
expect_eq "cache hits" "$(m intune_gate_cache_hits_total)" 1
expect_eq "cache misses" "$(m intune_gate_cache_misses_total)" 3
expect_eq "Graph 200s" "$(m 'intune_gate_graph_calls_total{status="200"}')" 3
expect_eq "handshakes: one per connection" "$(m intune_gate_tls_handshakes_total)" $((before_handshakes + 4))
expect_eq "decided requests counted" "$(m 'intune_gate_requests_total{outcome="Compliant",action="forward"}')" 2

# Reloads: one applied, one refused (not JSON).
reloaded() { grep -c '"msg":"config reloaded"' "$T/gate.log" || true; }
refused() { grep -c '"msg":"reload refused' "$T/gate.log" || true; }
kill -HUP "$GW_PID"
wait_for_count "$T/gate.log" '"msg":"config reloaded"' 1
expect_eq "reloads applied" "$(m intune_gate_config_reloads_total)" 1
cp "$T/gate.json" "$T/gate.json.good"
echo '{ not json' >"$T/gate.json"
kill -HUP "$GW_PID"
wait_for_count "$T/gate.log" '"msg":"reload refused' 1
expect_eq "reloads refused" "$(m intune_gate_config_reload_failures_total)" 1
expect_eq "reloads applied unchanged" "$(m intune_gate_config_reloads_total)" 1
expect_eq "still serving after a refused reload" "$(gw_curl compliant -o /dev/null -w '%{http_code}' "$GW/")" 200
cp "$T/gate.json.good" "$T/gate.json"
stop_gateway_and_check_log
