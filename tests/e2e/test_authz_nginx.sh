#!/usr/bin/env bash
# nginx (Debian's package, run as this test's own process) with the shipped conf/plugin/nginx.conf:
# auth_request against the plugin-mode gateway, a real mTLS client through it to the upstream.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_authz.sh"
command -v nginx >/dev/null || fail "nginx is not installed (scripts/build.sh installs it)"
start_authz_gateway "$PROXY_OUTCOMES"
start_nginx

through_proxy nginx "$NGX"

# Without a client certificate (ssl_verify_client optional): NoId, its 401 mapped back by the
# @intune_reject location from X-Intune-Status.
status=$(proxy_curl "$NGX" "" -o "$T/p.body" -w '%{http_code}' "$NGX/app")
expect_eq "nginx no certificate: status" "$status" 401
expect_eq "nginx no certificate: outcome" "$(json_get "$T/p.body" 'd["outcome"]')" NoId

# The checks reached the gateway's nginx dialect, with the certificate nginx verified.
grep -q '"path":"/authz/nginx"' "$T/gate.log" || fail "no check on /authz/nginx in the gateway log"
ok "checks used the nginx dialect"

fail_closed nginx "$NGX"
echo "PASS $TEST_NAME"
