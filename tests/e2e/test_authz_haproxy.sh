#!/usr/bin/env bash
# HAProxy 2.6 (Debian's package, run as this test's own process, never the packaged service) with the
# shipped conf/plugin/haproxy.cfg and conf/plugin/intune-gate.lua: the Lua check with HAProxy's own
# HTTP client against the plugin-mode gateway, a real mTLS client through it to the upstream.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_authz.sh"
source "$(dirname "$0")/lib_install.sh"
ensure_packages haproxy
start_authz_gateway "$PROXY_OUTCOMES"
start_haproxy

through_proxy haproxy "$HAP"

# The reject came back with the gateway's own JSON body and request ID.
status=$(proxy_curl "$HAP" noncompliant -o "$T/p.body" -D "$T/p.head" -w '%{http_code}' "$HAP/app")
expect_eq "haproxy reject: status" "$status" 403
expect_eq "haproxy reject: gateway body" "$(json_get "$T/p.body" 'd["outcome"]')" NotCompliant
expect_eq "haproxy reject: request id" "$(header_of "$T/p.head" X-Request-Id)" "$(json_get "$T/p.body" 'd["request_id"]')"

# No client certificate (verify optional): NoId and its configured 401. A Client-Cert header the
# client sends itself (a compliant device's public certificate) never reaches the check.
forged=$(cert_header der compliant)
status=$(proxy_curl "$HAP" "" -o "$T/p.body" -w '%{http_code}' -H "Client-Cert: $forged" "$HAP/app")
expect_eq "haproxy no certificate, forged Client-Cert: status" "$status" 401
expect_eq "haproxy no certificate: outcome" "$(json_get "$T/p.body" 'd["outcome"]')" NoId

# A client's own X-Auth-Level is replaced by the outcome's (Compliant: 2), and an X-Intune-* name
# intune-gate never sends is removed all the same.
proxy_curl "$HAP" compliant -o "$T/p.body" -H 'X-Auth-Level: 9' -H 'X-Intune-Trusted: yes' -H 'x-intune-device-id: forged' \
  "$HAP/app" || fail "haproxy: curl failed"
expect_eq "haproxy client X-Auth-Level replaced" "$(json_get "$T/p.body" 'h("X-Auth-Level")')" 2
expect_eq "haproxy client X-Intune-Trusted removed" "$(json_get "$T/p.body" 'h("X-Intune-Trusted")')" ""
expect_eq "haproxy client device id replaced" "$(json_get "$T/p.body" 'h("X-Intune-Device-Id")')" 3f2504e0-4f89-41d3-9a0c-0305e82c3301

# The checks reached /authz with the certificate in HAProxy's base64 DER form.
grep -q '"path":"/authz"' "$T/gate.log" || fail "no check on /authz in the gateway log"
ok "checks reached /authz"

fail_closed haproxy "$HAP"
# Fail closed answers the script's own 503, not HAProxy's HTML page.
status=$(proxy_curl "$HAP" compliant -o "$T/p.body" -w '%{http_code}' "$HAP/app") || true
expect_eq "haproxy gateway down: status" "$status" 503
expect_eq "haproxy gateway down: body" "$(json_get "$T/p.body" 'd["reason"]')" "compliance service unavailable"
echo "PASS $TEST_NAME"
