#!/usr/bin/env bash
# e2e (operations): SIGHUP re-reads the files the config names, not only the config itself:
#  1. the CRL: a certificate revoked after start is refused once the new CRL is reloaded;
#  2. client_ca: a CA added to the bundle is trusted after the reload;
#  3. a secret from a file: a corrected client secret is used (the token state recovers).
source "$(dirname "$0")/lib.sh"
ADMIN_PORT=$(free_port)
ADMIN=http://127.0.0.1:$ADMIN_PORT
make_pki
start_emulator
start_upstream

empty_crl device-ca "$T/crl.pem"
cp "$PKI/device-ca.crt" "$T/client-ca.pem"
printf 'wrong-Secr3t-value\n' >"$T/secret"
write_config '{"admin":{"address":"127.0.0.1","port":'"$ADMIN_PORT"'},
               "tls":{"client_ca":"'"$T/client-ca.pem"'","crl":"'"$T/crl.pem"'","client_certificate":"required"},
               "intune":{"client_secret":{"file":"'"$T/secret"'"}}}'
start_gateway
status() { gw_curl "$1" -o /dev/null -w '%{http_code}' "$GW/" 2>/dev/null || true; }
token_state() { curl -s --max-time 10 "$ADMIN/readyz" | jq -r .token; }
reload() {  # reload N: SIGHUP, then wait for the Nth "config reloaded" line
  kill -HUP "$GW_PID"
  wait_for_count "$T/gate.log" '"msg":"config reloaded"' "$1"
}

# Before: the revoked device is not revoked yet, the other CA is not trusted, the secret is wrong.
wait_until 20 "the token state is failing" sh -c "curl -s '$ADMIN/readyz' | grep -q '\"token\":\"failing\"'"
expect_eq "wrong secret: Error (503)" "$(status compliant)" 503
expect_eq "before: other CA refused" "$(status other-ca)" 000
expect_eq "before: device-revoked not yet revoked (its lookup runs: Error with the wrong secret)" "$(status revoked)" 503

# 1+2+3 at once would hide which file was re-read: one at a time.
printf 'demo-s3cret+/=&~ x\n' >"$T/secret"
reload 1
expect_eq "secret reloaded: compliant passes" "$(status compliant)" 200
expect_eq "secret reloaded: token state" "$(token_state)" ok

cp "$PKI/device-ca.crl" "$T/crl.pem"
reload 2
expect_eq "CRL reloaded: the revoked certificate is refused" "$(status revoked)" 000
wait_for_line "$T/gate.log" '"msg":"tls handshake failed".*"reason":"revoked"' 10 >/dev/null
expect_eq "CRL reloaded: a good certificate still passes" "$(status compliant)" 200

# With a CRL configured, every trusted CA needs its CRL: the other CA comes with an empty one.
cat "$PKI/device-ca.crt" "$PKI/other-ca.crt" >"$T/client-ca.pem"
empty_crl other-ca "$T/other-ca.crl"
cat "$PKI/device-ca.crl" "$T/other-ca.crl" >"$T/crl.pem"
reload 3
expect_eq "client_ca reloaded: the other CA's certificate is accepted" "$(status other-ca)" 200
expect_eq "reloads counted" "$(admin_metric intune_gate_config_reloads_total)" 3
expect_gateway_alive
echo "PASS $TEST_NAME"
