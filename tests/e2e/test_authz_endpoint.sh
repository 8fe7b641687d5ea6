#!/usr/bin/env bash
# The authorization endpoint hit directly, as a proxy would: every certificate form, the nginx
# dialect, untrusted peers, unverified certificates, no/garbage/oversized/ambiguous certificate
# headers, a check with a body, keep-alive, metrics and /readyz, in a plugin-only deployment; then
# authz.verify_header (its value, not only its name).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_authz.sh"
start_authz_gateway
COMPLIANT=3f2504e0-4f89-41d3-9a0c-0305e82c3301

expect_eq "readyz with the endpoint up" "$(curl -sS -o /dev/null -w '%{http_code}' "$ADMIN/readyz")" 200

# Every form each proxy uses gives the same device and its facts.
for form in rfc9440:Client-Cert der:Client-Cert chain:X-Forwarded-Tls-Client-Cert escaped:X-SSL-Client-Cert \
            spaces:X-SSL-Client-Cert xfcc:X-Forwarded-Client-Cert; do
  f=${form%%:*}; h=${form#*:}
  status=$(authz_check "$T/r" -H "$h: $(cert_header "$f" compliant)" "$AUTHZ/authz")
  expect_eq "$f: status" "$status" 200
  expect_eq "$f: device id" "$(header_of "$T/r.head" X-Intune-Device-Id)" "$COMPLIANT"
  expect_eq "$f: outcome" "$(header_of "$T/r.head" X-Intune-Outcome)" Compliant
  expect_eq "$f: state" "$(header_of "$T/r.head" X-Intune-Compliance-State)" compliant
  expect_eq "$f: outcome header" "$(header_of "$T/r.head" X-Auth-Level)" 2
  [ -n "$(header_of "$T/r.head" X-Request-Id)" ] || fail "$f: no X-Request-Id"
  [ -n "$(header_of "$T/r.head" X-Intune-Device)" ] || fail "$f: no X-Intune-Device"
  expect_eq "$f: empty body" "$(wc -c <"$T/r.body")" 0
done

# Headers that only other forwarding outcomes set are present, empty (Caddy copies a missing one
# as its placeholder text).
has_header "$T/r.head" X-Managed-By || fail "X-Managed-By (ConfigManager's header) missing from a Compliant answer"
# Every name the gateway can emit (read from the code's list) is in the answer, so a proxy copying
# every name overwrites a client's own (issue 26 #5): X-Intune-Stale empty when not stale.
for n in $(sed -n 's/.*_header = "\(X-[^"]*\)";/\1/p' "$TOP/core/text/header_names.hpp"); do
  has_header "$T/r.head" "$n" || fail "$n missing from a Compliant answer"
done
expect_eq "X-Intune-Stale on a fresh answer" "$(header_of "$T/r.head" X-Intune-Stale)" ""
ok "every gateway header name in the answer"
expect_eq "X-Managed-By empty" "$(header_of "$T/r.head" X-Managed-By)" ""

# Two XFCC elements (a proxy before Envoy added the first): the last one, added by the nearest
# proxy, names the device; the first certificate in the value is another device's.
two="$(cert_header xfcc noncompliant),$(cert_header xfcc compliant)"
expect_eq "xfcc, two elements: status" "$(authz_check "$T/r" -H "X-Forwarded-Client-Cert: $two" "$AUTHZ/authz")" 200
expect_eq "xfcc, two elements: the last element's device" "$(header_of "$T/r.head" X-Intune-Device-Id)" "$COMPLIANT"

# Envoy appends the original path to /authz.
status=$(authz_check "$T/r" -H "X-Forwarded-Client-Cert: $(cert_header xfcc compliant)" "$AUTHZ/authz/app/login?x=1")
expect_eq "path under /authz is a check" "$status" 200
expect_eq "not a check path" "$(authz_check "$T/r" "$AUTHZ/other")" 404

# Redirect and reject, in both dialects.
status=$(authz_check "$T/r" -H "Client-Cert: $(cert_header der noncompliant)" "$AUTHZ/authz")
expect_eq "redirect: status" "$status" 302
expect_eq "redirect: location" "$(header_of "$T/r.head" Location)" https://portal.manage.microsoft.com/
status=$(authz_check "$T/r" -H "Client-Cert: $(cert_header der noncompliant)" "$AUTHZ/authz/nginx")
expect_eq "nginx redirect: status" "$status" 401
expect_eq "nginx redirect: location" "$(header_of "$T/r.head" Location)" https://portal.manage.microsoft.com/
status=$(authz_check "$T/r" -H "Client-Cert: $(cert_header der conflict)" "$AUTHZ/authz")
expect_eq "reject: status" "$status" 409
expect_eq "reject: body outcome" "$(json_get "$T/r.body" 'd["outcome"]')" Conflict
expect_eq "reject: X-Intune-Outcome" "$(header_of "$T/r.head" X-Intune-Outcome)" Conflict
expect_eq "reject: request id in body and header" "$(json_get "$T/r.body" 'd["request_id"]')" "$(header_of "$T/r.head" X-Request-Id)"
status=$(authz_check "$T/r" -H "Client-Cert: $(cert_header der conflict)" "$AUTHZ/authz/nginx")
expect_eq "nginx reject: status" "$status" 403
expect_eq "nginx reject: X-Intune-Status" "$(header_of "$T/r.head" X-Intune-Status)" 409
status=$(authz_check "$T/r" -H "Client-Cert: $(cert_header der error)" "$AUTHZ/authz")
expect_eq "Error reject: status" "$status" 503
if grep -q AADSTS "$T/r.body"; then fail "backend detail in an Error reject body"; fi

# No certificate, a garbage one, one without an ID: NoId (reject 401), never a 500.
expect_eq "no certificate" "$(authz_check "$T/r" "$AUTHZ/authz")" 401
expect_eq "no certificate: outcome" "$(json_get "$T/r.body" 'd["outcome"]')" NoId
expect_eq "garbage" "$(authz_check "$T/r" -H 'Client-Cert: hello world' "$AUTHZ/authz")" 401
expect_eq "garbage base64" "$(authz_check "$T/r" -H 'Client-Cert: :AAAA:' "$AUTHZ/authz")" 401
expect_eq "xfcc without Cert" "$(authz_check "$T/r" -H 'X-Forwarded-Client-Cert: By=spiffe://a;Hash=ab;URI=spiffe://b' "$AUTHZ/authz")" 401
expect_eq "certificate without id" "$(authz_check "$T/r" -H "Client-Cert: $(cert_header der noid)" "$AUTHZ/authz")" 401
# The compliant device's GUID under another SAN URI scheme (Other://): not an ID.
expect_eq "SAN URI of another scheme" "$(authz_check "$T/r" -H "Client-Cert: $(cert_header der wrong-scheme)" "$AUTHZ/authz")" 401
expect_eq "SAN URI of another scheme: outcome" "$(json_get "$T/r.body" 'd["outcome"]')" NoId
expect_eq "nginx: NoId reject is 403" "$(authz_check "$T/r" "$AUTHZ/authz/nginx")" 403
expect_eq "nginx: NoId status" "$(header_of "$T/r.head" X-Intune-Status)" 401

# Certificates that do not verify against client_ca + CRL, or not for client authentication (a
# server-only certificate from the device CA, with the compliant device's ID): 403 in every dialect.
# sha1: a SHA-1 signature, which the front end's handshake refuses as weak (issue 26 item 9): the
# same security level here.
for d in other-ca expired revoked server-only sha1; do
  for path in /authz /authz/nginx; do
    status=$(authz_check "$T/r" -H "Client-Cert: $(cert_header der "$d")" "$AUTHZ$path")
    expect_eq "$d at $path: status" "$status" 403
    expect_eq "$d at $path: reason" "$(json_get "$T/r.body" 'd["reason"]')" "certificate not verified"
  done
done

# Two certificate headers (or one twice): refused, whatever they hold.
status=$(authz_check "$T/r" -H "Client-Cert: $(cert_header der compliant)" \
  -H "X-Forwarded-Tls-Client-Cert: $(cert_header der noncompliant)" "$AUTHZ/authz")
expect_eq "two certificate headers" "$status" 403
expect_eq "two certificate headers: reason" "$(json_get "$T/r.body" 'd["reason"]')" "ambiguous client certificate"
status=$(authz_check "$T/r" -H "Client-Cert: $(cert_header der compliant)" -H "Client-Cert: $(cert_header der compliant)" "$AUTHZ/authz")
expect_eq "one certificate header twice" "$status" 403

# An oversized header: 431, the gateway keeps serving.
big=$(head -c 100000 /dev/zero | tr '\0' 'A')
expect_eq "100 kB header" "$(authz_check "$T/r" -H "Client-Cert: $big" "$AUTHZ/authz")" 431
expect_eq "still serving" "$(authz_check "$T/r" -H "Client-Cert: $(cert_header der compliant)" "$AUTHZ/authz")" 200

# A check with a body is answered without reading it, and the connection closes.
status=$(authz_check "$T/r" -X POST --data-binary "@$PKI/device-ca.crt" -H "Client-Cert: $(cert_header der compliant)" "$AUTHZ/authz")
expect_eq "POST with a body: answered" "$status" 200
expect_eq "POST with a body: connection closed" "$(header_of "$T/r.head" Connection)" close

# Keep-alive: two checks, one connection.
curl -sS -v --max-time 20 -o /dev/null -o /dev/null -H "Client-Cert: $(cert_header der compliant)" \
  "$AUTHZ/authz" "$AUTHZ/authz" 2>"$T/keepalive.txt"
grep -qi 're-using existing connection\|reusing existing connection' "$T/keepalive.txt" || fail "second check did not reuse the connection"
ok "keep-alive between checks"

# An untrusted peer (127.0.0.2 is loopback too, but not in trusted_peers): closed at accept without
# an answer, no lookup, counted every time, logged once (test_authz_connections has the rest).
emu_ctl POST /_emulator/reset >/dev/null
for i in 1 2 3 4 5; do
  status=$(authz_check "$T/r" --interface 127.0.0.2 -H "Client-Cert: $(cert_header der ingraceperiod)" "$AUTHZ/authz" 2>/dev/null) || true
  expect_eq "untrusted peer $i: closed without an answer" "$status" 000
done
expect_eq "untrusted peer: Graph not asked" "$(emu_ctl GET /_emulator/stats | jq '.device_requests | length')" 0
expect_eq "untrusted peer: counted" "$(metric 'intune_gate_authz_checks_total{result="untrusted_peer"}')" 5
expect_eq "untrusted peer: logged once" "$(grep -c 'untrusted peer refused' "$T/gate.log")" 1

# Metrics by result and by outcome/action.
[ "$(metric 'intune_gate_authz_checks_total{result="allowed"}')" -ge 8 ] || fail "allowed checks not counted"
[ "$(metric 'intune_gate_authz_checks_total{result="redirected"}')" -ge 2 ] || fail "redirects not counted"
[ "$(metric 'intune_gate_authz_checks_total{result="rejected"}')" -ge 4 ] || fail "rejects not counted"
# Five kinds of certificate above, each at two paths.
expect_eq "certificate_not_verified counted" "$(metric 'intune_gate_authz_checks_total{result="certificate_not_verified"}')" 10
expect_eq "ambiguous counted" "$(metric 'intune_gate_authz_checks_total{result="ambiguous_certificate"}')" 2
[ "$(metric 'intune_gate_authz_checks_total{result="no_certificate"}')" -ge 5 ] || fail "no_certificate not counted"
[ "$(metric 'intune_gate_requests_total{outcome="Compliant",action="forward"}')" -ge 8 ] || fail "requests_total misses checks"
expect_eq "431 counted" "$(metric intune_gate_requests_rejected_total)" 1

# Access log lines for checks: JSON, with the outcome and the status answered.
python3 - "$T/gate.log" <<'PY' || fail "no access log line for a check"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
hits = [l for l in lines if l.get("path") == "/authz" and l.get("outcome") == "Compliant" and l.get("status") == 200]
assert hits, "no Compliant /authz line"
assert any(l.get("outcome") == "NotCompliant" and l.get("status") == 302 for l in lines)
PY
ok "access log covers checks"

stop_gateway_and_check_log

# authz.verify_header: the proxy's own verification result must be the configured value. A proxy
# saying it failed (nginx's $ssl_client_verify "FAILED:reason") is refused even with a certificate
# that would verify; missing or repeated too.
run_authz_gateway '{"authz": {"verify_header": {"name": "X-SSL-Client-Verify", "value": "SUCCESS"}}}'
cert=$(cert_header der compliant)
expect_eq "verify header SUCCESS" "$(authz_check "$T/r" -H "Client-Cert: $cert" -H 'X-SSL-Client-Verify: SUCCESS' "$AUTHZ/authz")" 200
expect_eq "verify header SUCCESS: device" "$(header_of "$T/r.head" X-Intune-Device-Id)" "$COMPLIANT"
for bad in 'FAILED:certificate has expired' 'NONE' 'success'; do
  expect_eq "verify header '$bad'" "$(authz_check "$T/r" -H "Client-Cert: $cert" -H "X-SSL-Client-Verify: $bad" "$AUTHZ/authz")" 403
  expect_eq "verify header '$bad': reason" "$(json_get "$T/r.body" 'd["reason"]')" "certificate not verified"
done
expect_eq "verify header missing" "$(authz_check "$T/r" -H "Client-Cert: $cert" "$AUTHZ/authz")" 403
expect_eq "verify header twice" "$(authz_check "$T/r" -H "Client-Cert: $cert" -H 'X-SSL-Client-Verify: SUCCESS' \
  -H 'X-SSL-Client-Verify: FAILED:unknown ca' "$AUTHZ/authz")" 403
expect_eq "no certificate header: NoId, whatever the verify header" \
  "$(authz_check "$T/r" -H 'X-SSL-Client-Verify: NONE' "$AUTHZ/authz")" 401
stop_gateway_and_check_log
echo "PASS $TEST_NAME"
