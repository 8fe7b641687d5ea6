#!/usr/bin/env bash
# Each of the eight outcomes gets its configured action; rejects and redirects never reach the upstream.
source "$(dirname "$0")/lib.sh"
start_all

# The token is fetched at start, so the first (cold) device lookup costs exactly one Graph call
# and no token request on the request path.
for _ in $(seq 50); do
  emu_ctl GET /_emulator/stats >"$T/stats.json"
  [ "$(json_get "$T/stats.json" 'd["token_requests"]')" = 1 ] && break; sleep 0.1
done
expect_eq "token fetched at start" "$(json_get "$T/stats.json" 'd["token_requests"]')" 1
emu_ctl POST /_emulator/reset >/dev/null
gw_curl compliant -o /dev/null "$GW/" || fail "cold request failed"
emu_ctl GET /_emulator/stats >"$T/stats.json"
expect_eq "cold device: token requests on the request path" "$(json_get "$T/stats.json" 'd["token_requests"]')" 0
expect_eq "cold device: Graph device calls" \
  "$(json_get "$T/stats.json" 'd["device_requests"]["3f2504e0-4f89-41d3-9a0c-0305e82c3301"]')" 1

# check DEVICE EXPECTED_STATUS EXPECTED_OUTCOME
check() {
  local device=$1 want_status=$2 want_outcome=$3 before after status
  before=$(upstream_hits)
  status=$(gw_curl "$device" -o "$T/body" -D "$T/head" -w '%{http_code}' "$GW/login?x=1") || fail "$device: curl failed"
  after=$(upstream_hits)
  expect_eq "$device: status" "$status" "$want_status"
  case $want_status in
    200)
      expect_eq "$device: upstream saw outcome" "$(json_get "$T/body" 'h("X-Intune-Outcome")')" "$want_outcome"
      expect_eq "$device: upstream hit once" "$((after - before))" 1 ;;
    302)
      grep -qi '^location: https://portal.manage.microsoft.com/' "$T/head" || fail "$device: no Location header"
      expect_eq "$device: upstream untouched" "$after" "$before" ;;
    *)
      expect_eq "$device: reject body outcome" "$(json_get "$T/body" 'd["outcome"]')" "$want_outcome"
      [ -n "$(json_get "$T/body" 'd["request_id"]')" ] || fail "$device: reject body without request_id"
      grep -qi "^x-request-id: $(json_get "$T/body" 'd["request_id"]')" "$T/head" || fail "$device: X-Request-Id differs from the body"
      expect_eq "$device: upstream untouched" "$after" "$before" ;;
  esac
}

check compliant      200 Compliant
check ingraceperiod  200 InGracePeriod
check configmanager  200 ConfigManager
check noncompliant   302 NotCompliant
check notfound       302 NotCompliant
check conflict       409 Conflict
check unknown        403 StatusUnknown
check newstate       403 StatusUnknown
check error          503 Error
check noid           401 NoId
check not-guid       401 NoId
check crlf           401 NoId
check wrong-scheme   401 NoId   # the compliant device's GUID as Other://<guid>: not the configured scheme
check cn-only        200 Compliant
check ""             401 NoId

# Outcome-specific headers reach the upstream.
gw_curl ingraceperiod -o "$T/body" "$GW/"
expect_eq "InGracePeriod header" "$(json_get "$T/body" 'h("X-Auth-Level")')" 1
gw_curl configmanager -o "$T/body" "$GW/"
expect_eq "ConfigManager header" "$(json_get "$T/body" 'h("X-Managed-By")')" configmgr
expect_eq "ConfigManager state" "$(json_get "$T/body" 'h("X-Intune-Compliance-State")')" configManager

# The second request for a device is served from the cache: Graph is not asked again.
emu_ctl POST /_emulator/reset >/dev/null
gw_curl compliant -o /dev/null "$GW/again"
gw_curl compliant -o /dev/null "$GW/again"
expect_eq "cached verdict: no device lookup" "$(emu_ctl GET /_emulator/stats | jq '.device_requests | length')" 0

# NoId never asks Graph.
emu_ctl POST /_emulator/reset >/dev/null
gw_curl noid -o /dev/null "$GW/"
expect_eq "NoId: Graph not asked" "$(emu_ctl GET /_emulator/stats | jq '.graph_requests')" 0
echo "PASS $TEST_NAME"
