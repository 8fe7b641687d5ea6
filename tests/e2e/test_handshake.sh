#!/usr/bin/env bash
# Certificates that do not verify never get past the handshake: wrong CA, expired, revoked, signed
# with SHA-1, and
# (in required mode) none at all. Neither Graph nor the upstream is ever contacted for them.
source "$(dirname "$0")/lib.sh"
make_pki
start_emulator
start_upstream
crl=()
[ -f "$PKI/device-ca.crl" ] && crl=(',"crl":"'"$PKI/device-ca.crl"'"')
write_config '{"tls":{"client_certificate":"required"'"${crl[*]:-}"'}}'
start_gateway
emu_ctl POST /_emulator/reset >/dev/null

refused() {
  local device=$1 what=$2
  if gw_curl "$device" -o "$T/body" -w '%{http_code}' "$GW/" >"$T/status" 2>"$T/err"; then
    fail "$what: the request was answered ($(cat "$T/status"))"
  fi
  ok "$what: refused ($(head -c 120 "$T/err" | tr '\n' ' '))"
}
refused other-ca "certificate from another CA"
refused expired "expired certificate"
refused "" "no certificate in required mode"
if [ -f "$PKI/device-revoked.crt" ] && [ ${#crl[@]} -gt 0 ]; then refused revoked "revoked certificate"; fi
# A SHA-1 signed certificate: the client must be told to offer it at all (security level 0).
echo | openssl s_client -connect "127.0.0.1:$GW_PORT" -CAfile "$PKI/server-ca.crt" -cipher 'DEFAULT@SECLEVEL=0' -tls1_2 \
  -cert "$PKI/device-sha1.crt" -key "$PKI/device-sha1.key" >"$T/sclient-sha1" 2>&1 || true
grep -qiE 'alert|error' "$T/sclient-sha1" || fail "s_client with a SHA-1 signed certificate saw no alert"
# Each refusal is logged with its own reason; the SHA-1 one as a weak signature, not "other".
wait_for_line "$T/gate.log" '"msg":"tls handshake failed".*"reason":"weak_signature"' 10 >/dev/null
ok "SHA-1 signed certificate logged as weak_signature"

# openssl s_client sees the handshake refused too.
echo | openssl s_client -connect "127.0.0.1:$GW_PORT" -CAfile "$PKI/server-ca.crt" \
  -cert "$PKI/device-other-ca.crt" -key "$PKI/device-other-ca.key" -tls1_2 >"$T/sclient" 2>&1 || true
grep -qiE 'alert|error' "$T/sclient" || fail "s_client with a wrong-CA certificate saw no alert"
ok "s_client: wrong CA gets an alert"

expect_eq "upstream never hit" "$(upstream_hits)" 0
expect_eq "Graph never asked" "$(emu_ctl GET /_emulator/stats | jq '.graph_requests')" 0

# A good certificate still works on the same gateway (and over TLS 1.3 too).
expect_eq "compliant passes" "$(gw_curl compliant -o /dev/null -w '%{http_code}' "$GW/")" 200
expect_eq "compliant over TLS 1.3" "$(gw_curl compliant --tlsv1.3 -o /dev/null -w '%{http_code}' "$GW/")" 200
echo "PASS $TEST_NAME"
