#!/usr/bin/env bash
# Certificates that do not verify never get past the handshake: wrong CA, expired, not yet valid,
# revoked, signed with SHA-1, one for servers only (no clientAuth), in `required` and in `optional` mode, and (in required mode) none at all; min_version
# "1.3" refuses TLS 1.2. Each refusal is checked from both sides: the client sees the handshake fail,
# and the gateway — still running — logs and counts it with the right reason. Neither Graph nor the
# upstream is ever contacted for them.
source "$(dirname "$0")/lib.sh"
make_pki
start_emulator
start_upstream
for f in device-revoked.crt device-ca.crl device-expired.crt device-not-yet-valid.crt device-other-ca.crt \
         device-server-only.crt; do
  [ -s "$PKI/$f" ] || fail "certs/make-pki.sh did not make $f"
done
ADMIN_PORT=$(free_port)
ADMIN=http://127.0.0.1:$ADMIN_PORT

# gateway MODE [MIN_VERSION]: (re)starts the gateway with the CRL, in that client_certificate mode.
gateway() {
  if [ -n "${GW_PID:-}" ]; then kill "$GW_PID"; wait "$GW_PID" 2>/dev/null || true; mv "$T/gate.log" "$T/gate-$1-old.log"; fi
  write_config '{"tls":{"client_certificate":"'"$1"'","crl":"'"$PKI/device-ca.crl"'","min_version":"'"${2:-1.2}"'"},
                 "admin":{"address":"127.0.0.1","port":'"$ADMIN_PORT"'}}'
  start_gateway
}

# refused DEVICE REASON WHAT [curl args]: the handshake fails for the client, the gateway is alive,
# logged the failure with REASON and counted it under that reason.
refused() {
  local device=$1 reason=$2 what=$3
  shift 3
  local before logged
  before=$(admin_metric "intune_gate_tls_handshake_failures_total{reason=\"$reason\"}")
  logged=$(grep -c '"msg":"tls handshake failed"' "$T/gate.log" || true)
  if gw_curl "$device" -o "$T/body" -w '%{http_code}' "$@" "$GW/" >"$T/status" 2>"$T/err"; then
    fail "$what: the request was answered ($(cat "$T/status"))"
  fi
  grep -qiE 'connection refused|could not resolve|timed out' "$T/err" && fail "$what: not a handshake failure: $(cat "$T/err")"
  expect_gateway_alive
  wait_for_count "$T/gate.log" '"msg":"tls handshake failed"' $((logged + 1)) 10
  tail -n +$((logged + 1)) "$T/gate.log" | grep '"msg":"tls handshake failed"' | grep -q "\"reason\":\"$reason\"" ||
    fail "$what: the gateway logged no handshake failure with reason $reason: $(grep '"tls handshake failed"' "$T/gate.log" | tail -n 2)"
  expect_eq "$what: counted as $reason" "$(admin_metric "intune_gate_tls_handshake_failures_total{reason=\"$reason\"}")" $((before + 1))
}

for mode in required optional; do
  gateway $mode
  emu_ctl POST /_emulator/reset >/dev/null
  hits=$(upstream_hits)
  refused other-ca unknown_ca "$mode: certificate from another CA"
  refused expired expired "$mode: expired certificate"
  refused not-yet-valid expired "$mode: certificate not yet valid"
  refused revoked revoked "$mode: revoked certificate"
  # From the device CA, valid, with the compliant device's ID, but extendedKeyUsage serverAuth only.
  refused server-only other "$mode: certificate without the clientAuth purpose"
  [ $mode = optional ] || refused "" no_certificate "$mode: no certificate"
  expect_eq "$mode: upstream never hit" "$(upstream_hits)" "$hits"
  expect_eq "$mode: Graph never asked" "$(emu_ctl GET /_emulator/stats | jq '.graph_requests')" 0
  expect_eq "$mode: no request decided" "$(admin_metric 'intune_gate_requests_total{outcome="Compliant",action="forward"}')" 0
  # A good certificate still works on the same gateway (and over TLS 1.3 too); each counts a handshake.
  expect_eq "$mode: compliant passes" "$(gw_curl compliant -o /dev/null -w '%{http_code}' "$GW/")" 200
  expect_eq "$mode: compliant over TLS 1.3" "$(gw_curl compliant --tlsv1.3 -o /dev/null -w '%{http_code}' "$GW/")" 200
  expect_eq "$mode: completed handshakes counted" "$(admin_metric intune_gate_tls_handshakes_total)" 2
done
# In optional mode no certificate is not a handshake failure: it is the outcome NoId (401 here).
expect_eq "optional: no certificate gives NoId" "$(gw_curl "" -o /dev/null -w '%{http_code}' "$GW/")" 401

# openssl s_client sees a TLS alert for the wrong CA (not a refused or dropped connection).
echo | openssl s_client -connect "127.0.0.1:$GW_PORT" -CAfile "$PKI/server-ca.crt" \
  -cert "$PKI/device-other-ca.crt" -key "$PKI/device-other-ca.key" -tls1_2 >"$T/sclient" 2>&1 || true
grep -qiE 'alert unknown ca|alert number 48' "$T/sclient" || fail "s_client with a wrong-CA certificate saw no unknown-CA alert: $(tail -n 5 "$T/sclient")"
ok "s_client: wrong CA gets the unknown-CA alert"

# A SHA-1 signed certificate: the client must be told to offer it at all (security level 0).
echo | openssl s_client -connect "127.0.0.1:$GW_PORT" -CAfile "$PKI/server-ca.crt" -cipher 'DEFAULT@SECLEVEL=0' -tls1_2 \
  -cert "$PKI/device-sha1.crt" -key "$PKI/device-sha1.key" >"$T/sclient-sha1" 2>&1 || true
grep -qiE 'alert|error' "$T/sclient-sha1" || fail "s_client with a SHA-1 signed certificate saw no alert"
expect_gateway_alive
# Each refusal is logged with its own reason; the SHA-1 one as a weak signature, not "other".
wait_for_line "$T/gate.log" '"msg":"tls handshake failed".*"reason":"weak_signature"' 10 >/dev/null
ok "SHA-1 signed certificate logged as weak_signature"

# min_version "1.3": a TLS 1.2 client is refused, TLS 1.3 works.
gateway required 1.3
refused compliant other "min_version 1.3: a TLS 1.2 client" --tls-max 1.2
expect_eq "min_version 1.3: TLS 1.3 works" "$(gw_curl compliant --tlsv1.3 -o /dev/null -w '%{http_code}' "$GW/")" 200
echo "PASS $TEST_NAME"
