#!/usr/bin/env bash
# Caddy (Debian's package, run as this test's own process) with the shipped conf/plugin/Caddyfile:
# forward_auth against the plugin-mode gateway, a real mTLS client through it to the upstream.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_authz.sh"
command -v caddy >/dev/null || fail "caddy is not installed (scripts/build.sh installs it)"
# A header limit above what one field can hold (issue 26 #2): Caddy copies the client's headers
# into the check.
start_authz_gateway "$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); d["limits"]={"max_header_bytes":131072}; print(json.dumps(d))' "$PROXY_OUTCOMES")"
start_caddy

through_proxy caddy "$CADDY"

# The reject came back with the gateway's own JSON body.
proxy_curl "$CADDY" noncompliant -o "$T/p.body" "$CADDY/app"
expect_eq "caddy reject: gateway body" "$(json_get "$T/p.body" 'd["outcome"]')" NotCompliant

# A browser gets the gateway's HTML deny page through Caddy, which passes the answer on.
status=$(proxy_curl "$CADDY" noncompliant -o "$T/p.body" -D "$T/p.head" -w '%{http_code}' \
  -H 'Accept: text/html,application/xhtml+xml,*/*;q=0.8' "$CADDY/app")
expect_eq "caddy browser reject: status" "$status" 403
expect_eq "caddy browser reject: HTML page" "$(header_of "$T/p.head" Content-Type)" "text/html; charset=utf-8"
grep -q "<code>$(header_of "$T/p.head" X-Request-Id)</code>" "$T/p.body" || fail "caddy: the page lacks the request ID"
ok "caddy: the deny page shows the request ID"

# The checks carried Caddy's base64 DER form.
grep -q '"path":"/authz"' "$T/gate.log" || fail "no check on /authz in the gateway log"
ok "checks reached /authz"

# One client header of 65,534 bytes, copied by forward_auth into the check: refused (431), never
# forwarded, and the gateway keeps answering (it used to abort on it).
before=$(upstream_hits)
status=$(proxy_curl "$CADDY" compliant --http1.1 -o /dev/null -w '%{http_code}' -H "X-Big: $(head -c 65534 /dev/zero | tr '\0' a)" "$CADDY/app") || true
case "$status" in 2*|3*) fail "caddy: a 65,534-byte header answered $status";; esac
expect_eq "caddy: 65,534-byte header not forwarded" "$(upstream_hits)" "$before"
kill -0 "$GW_PID" 2>/dev/null || fail "the gateway died on a 65,534-byte header through Caddy"
expect_eq "caddy: compliant after it" "$(proxy_curl "$CADDY" compliant -o /dev/null -w '%{http_code}' "$CADDY/app")" 200
ok "caddy: 65,534-byte header refused ($status), gateway alive"

fail_closed caddy "$CADDY"
echo "PASS $TEST_NAME"
