#!/usr/bin/env bash
# Concurrent requests share work: many requests for one device that is not cached yet make one Graph
# call (single flight per device), and many lookups that all find the token revoked make one token
# request between them.
source "$(dirname "$0")/lib.sh"
start_all '{"intune":{"timeout_ms":20000,"save_installed_apps":false}}'
calls() { emu_ctl GET /_emulator/stats | jq ".device_requests[\"$1\"] // 0"; }
wait_for_line "$T/gate.log" '"msg":"token fetched"' 20 >/dev/null  # the start-up token, out of the way

# parallel DEVICE N PATH: N requests at once with that device's certificate; prints their statuses.
parallel() {
  local pids=() i
  for i in $(seq "$2"); do
    gw_curl "$1" -o /dev/null -w '%{http_code}\n' "$GW$3/$i" >"$T/par.$i" 2>&1 &
    pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || true; done
  cat "$T"/par.* | sort | uniq -c | awk '{print $2 "x" $1}' | paste -sd' '
  rm -f "$T"/par.*
}

# 1. Eight requests for the conflict device while its Graph answer takes 3 s: one Graph call.
emu_ctl POST /_emulator/reset >/dev/null
emu_ctl POST /_emulator/fault/3f2504e0-4f89-41d3-9a0c-0305e82c3305 '{"latency_ms":3000,"times":1}' >/dev/null
expect_eq "eight concurrent requests, one device: all answered (Conflict -> 409)" "$(parallel conflict 8 /sf)" 409x8
expect_eq "one Graph call for them all" "$(calls 3f2504e0-4f89-41d3-9a0c-0305e82c3305)" 1

# 2. The token revoked, then lookups of five devices at once: each gets a 401, one new token for all
# (the token endpoint takes 2 s, so the 401s arrive while the first new token is on its way).
emu_ctl POST /_emulator/token_latency '{"latency_ms":2000}' >/dev/null
emu_ctl POST /_emulator/revoke >/dev/null
emu_ctl POST /_emulator/reset >/dev/null
pids=()
for d in noncompliant ingraceperiod configmanager unknown notfound; do
  gw_curl $d -o /dev/null -w '%{http_code}\n' "$GW/tok" >"$T/tok.$d" 2>&1 &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p" || true; done
expect_eq "after the revocation: the five answers" \
  "$(for d in noncompliant ingraceperiod configmanager unknown notfound; do cat "$T/tok.$d"; done | paste -sd' ')" \
  "302 200 200 403 302"
expect_eq "one token request for the five lookups" "$(emu_ctl GET /_emulator/stats | jq .token_requests)" 1
echo "PASS $TEST_NAME"
