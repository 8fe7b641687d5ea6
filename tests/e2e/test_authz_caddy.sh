#!/usr/bin/env bash
# Caddy (Debian's package, run as this test's own process) with the shipped conf/plugin/Caddyfile:
# forward_auth against the plugin-mode gateway, a real mTLS client through it to the upstream.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_authz.sh"
command -v caddy >/dev/null || fail "caddy is not installed (scripts/build.sh installs it)"
start_authz_gateway "$PROXY_OUTCOMES"
start_caddy

through_proxy caddy "$CADDY"

# The reject came back with the gateway's own JSON body.
proxy_curl "$CADDY" noncompliant -o "$T/p.body" "$CADDY/app"
expect_eq "caddy reject: gateway body" "$(json_get "$T/p.body" 'd["outcome"]')" NotCompliant

# The checks carried Caddy's base64 DER form.
grep -q '"path":"/authz"' "$T/gate.log" || fail "no check on /authz in the gateway log"
ok "checks reached /authz"

fail_closed caddy "$CADDY"
echo "PASS $TEST_NAME"
