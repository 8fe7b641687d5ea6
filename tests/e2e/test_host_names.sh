#!/usr/bin/env bash
# Host names are verified on every outgoing TLS connection: login, Graph and an https upstream. A
# server whose certificate comes from the trusted CA but names another host is refused; the same
# setup with the right name works (so the refusal is the name, not the CA or the set-up).
source "$(dirname "$0")/lib.sh"
make_pki
start_emulator
start_upstream
start_emulator_as server-wrong-name
WRONG=$EMU_AS
RIGHT=https://localhost:${EMU##*:}
wrong_stats() { curl -sS --max-time 10 --cacert "$PKI/server-ca.crt" --resolve "wrong-name.example:${WRONG##*:}:127.0.0.1" \
  "https://wrong-name.example:${WRONG##*:}/_emulator/stats"; }
ADMIN_PORT=$(free_port)
ADMIN=http://127.0.0.1:$ADMIN_PORT

restart() {
  if [ -n "${GW_PID:-}" ]; then kill "$GW_PID"; wait "$GW_PID" 2>/dev/null || true; mv "$T/gate.log" "$T/gate-$(date +%s%N).log"; fi
  write_config "$1"
  start_gateway
}
admin='"admin":{"address":"127.0.0.1","port":'"$ADMIN_PORT"'}'

# Control: login and Graph on the right name answer.
restart '{'"$admin"',"intune":{"login_url":"'"$RIGHT"'","graph_url":"'"$RIGHT"'"}}'
expect_eq "right name: compliant forwarded" "$(gw_curl compliant -o /dev/null -w '%{http_code}' "$GW/")" 200

# Login on a wrong name: no token, the request gets Error (503 here), the server saw no token request.
restart '{'"$admin"',"intune":{"login_url":"'"$WRONG"'","graph_url":"'"$RIGHT"'"}}'
expect_eq "login with a wrong name: Error" "$(gw_curl compliant -o /dev/null -w '%{http_code}' "$GW/")" 503
wait_until 20 "the token state is failing" sh -c "curl -s '$ADMIN/readyz' | grep -q '\"token\":\"failing\"'"
expect_eq "login with a wrong name: no token request got through" "$(wrong_stats | jq '.token_requests')" 0
grep '"msg":"token request failed"' "$T/gate.log" | grep -qiE 'certificate|verif|handshake' ||
  fail "the token failure does not name the certificate: $(grep 'token request failed' "$T/gate.log" | tail -n 1)"
ok "login with a wrong name: refused for its certificate"

# Graph on a wrong name (login right): Error, no Graph request got through, status="none" counted.
restart '{'"$admin"',"intune":{"login_url":"'"$RIGHT"'","graph_url":"'"$WRONG"'"}}'
expect_eq "Graph with a wrong name: Error" "$(gw_curl compliant -o /dev/null -w '%{http_code}' "$GW/")" 503
expect_eq "Graph with a wrong name: no Graph request got through" "$(wrong_stats | jq '.graph_requests')" 0
n=$(admin_metric 'intune_gate_graph_calls_total{status="none"}')
[ "$n" != absent ] && [ "$n" -ge 1 ] || fail "a Graph call without an HTTP answer is not counted as status=\"none\": $n"
ok "Graph with a wrong name: counted as status=\"none\" ($n)"

# An https upstream: the right name works, a wrong name gives 502 and counts an upstream error.
restart '{'"$admin"',"intune":{"login_url":"'"$RIGHT"'","graph_url":"'"$RIGHT"'"},
          "upstream":{"url":"'"$RIGHT"'","ca_file":"'"$PKI/server-ca.crt"'"}}'
expect_eq "https upstream, right name" "$(gw_curl compliant -o /dev/null -w '%{http_code}' "$GW/_emulator/stats")" 200
restart '{'"$admin"',"intune":{"login_url":"'"$RIGHT"'","graph_url":"'"$RIGHT"'"},
          "upstream":{"url":"'"$WRONG"'","ca_file":"'"$PKI/server-ca.crt"'"}}'
expect_eq "https upstream, wrong name: 502" "$(gw_curl compliant -o /dev/null -w '%{http_code}' "$GW/_emulator/stats")" 502
expect_eq "https upstream, wrong name: counted" "$(admin_metric intune_gate_upstream_errors_total)" 1
echo "PASS $TEST_NAME"
