#!/usr/bin/env bash
# A client certificate that expires after its TLS session began cannot keep working through session
# resumption (TLS 1.2 and 1.3): the resumed handshake is refused and counted as expired.
source "$(dirname "$0")/lib.sh"
make_pki
# A certificate of the compliant device that is valid for VALID seconds from now (openssl ca sets
# exact dates; it needs a small database).
VALID=12
mkdir -p "$T/ca"; : >"$T/ca/index.txt"; echo 01 >"$T/ca/serial"
cat >"$T/ca/ca.cnf" <<CNF
[ca]
default_ca = device_ca
[device_ca]
database = $T/ca/index.txt
new_certs_dir = $T/ca
serial = $T/ca/serial
certificate = $PKI/device-ca.crt
private_key = $PKI/device-ca.key
default_md = sha256
policy = any
unique_subject = no
copy_extensions = copy
[any]
commonName = supplied
organizationName = optional
[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
CNF
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/short.key" -out "$T/short.csr" \
  -subj "/O=intune-gate demo/CN=device-short-lived" \
  -addext "subjectAltName=URI:IntuneDeviceId://3f2504e0-4f89-41d3-9a0c-0305e82c3301" 2>/dev/null
openssl ca -batch -config "$T/ca/ca.cnf" -extensions client -notext -in "$T/short.csr" -out "$T/short.crt" -rand_serial \
  -startdate "$(date -u -d '-1 hour' +%Y%m%d%H%M%SZ)" -enddate "$(date -u -d "+$VALID sec" +%Y%m%d%H%M%SZ)" \
  >"$T/ca/log" 2>&1 || { cat "$T/ca/log" >&2; fail "cannot make the short-lived certificate"; }
not_after=$(date -u -d "$(openssl x509 -in "$T/short.crt" -noout -enddate | cut -d= -f2)" +%s)
start_emulator
start_upstream
ADMIN_PORT=$(free_port)
write_config "{\"admin\": {\"address\": \"127.0.0.1\", \"port\": $ADMIN_PORT}}"
start_gateway

req='GET /resumed HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
s_client() {
  openssl s_client -connect "127.0.0.1:$GW_PORT" -servername localhost -CAfile "$PKI/server-ca.crt" \
    -cert "$T/short.crt" -key "$T/short.key" -ign_eof "$@"
}
# While the certificate is valid: a full handshake, then a resumed one, both served.
for v in tls1_2 tls1_3; do
  printf "$req" | s_client -$v -sess_out "$T/session-$v" >"$T/first" 2>&1 || true
  grep -aq 'HTTP/1.1 200' "$T/first" || fail "$v: valid certificate not served: $(tail -c 300 "$T/first")"
  printf "$req" | s_client -$v -sess_in "$T/session-$v" >"$T/second" 2>&1 || true
  grep -q '^Reused' "$T/second" || fail "$v: the session was not resumed"
  grep -aq 'HTTP/1.1 200' "$T/second" || fail "$v: resumed session not served while valid"
  ok "$v: valid certificate served, session resumed"
done
[ "$(date +%s)" -lt "$not_after" ] || fail "the certificate expired before the first checks were done (slow machine?)"

# After notAfter: the sessions are still within their lifetime, but the certificate is not.
while [ "$(date +%s)" -le "$((not_after + 1))" ]; do sleep 0.5; done
for v in tls1_2 tls1_3; do
  printf "$req" | s_client -$v -sess_in "$T/session-$v" >"$T/late" 2>&1 || true
  if grep -aq 'HTTP/1.1' "$T/late"; then fail "$v: expired certificate served through resumption: $(grep -a 'HTTP/1.1' "$T/late")"; fi
  ok "$v: resumption with an expired certificate refused"
done
printf "$req" | s_client -tls1_3 >"$T/full" 2>&1 || true
if grep -aq 'HTTP/1.1' "$T/full"; then fail "expired certificate served on a full handshake"; fi
ok "full handshake with the expired certificate refused"
curl -sS --max-time 10 "http://127.0.0.1:$ADMIN_PORT/metrics" >"$T/metrics"
expired=$(awk -F' ' '/^intune_gate_tls_handshake_failures_total\{reason="expired"\}/ {print $2}' "$T/metrics")
[ "${expired:-0}" -ge 3 ] || fail "expired handshakes counted: ${expired:-none}"
ok "counted as expired handshake failures ($expired)"
echo "PASS $TEST_NAME"
