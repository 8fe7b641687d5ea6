#!/usr/bin/env bash
# TLS session resumption (1.2 and 1.3 tickets) across the gateway's workers and across reloads:
#  1. a session resumes again and again (the connections land on both workers);
#  2. a SIGHUP reload that changes no certificate keeps every session resumable;
#  3. a reload that drops a CA from client_ca refuses the sessions of that CA's certificates (a
#     full handshake, where the new bundle refuses the certificate), while a certificate of a CA
#     still trusted is served.
source "$(dirname "$0")/lib.sh"
make_pki
start_emulator
start_upstream
cat "$PKI/device-ca.crt" "$PKI/other-ca.crt" >"$T/client-ca.pem"
write_config '{"workers": 2, "tls": {"client_ca": "'"$T/client-ca.pem"'", "client_certificate": "required"}}'
start_gateway

req='GET /resumed HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
# s_client DEVICE VERSION [args]: one request on a new connection.
s_client() {
  local device=$1 v=$2; shift 2
  printf "$req" | openssl s_client -connect "127.0.0.1:$GW_PORT" -servername localhost -CAfile "$PKI/server-ca.crt" \
    -cert "$PKI/device-$device.crt" -key "$PKI/device-$device.key" -ign_eof "-$v" "$@" 2>&1 || true
}
# resumed DEVICE VERSION: the session saved for them is offered; true when resumed and served 200.
resumed() {
  s_client "$1" "$2" -sess_in "$T/session-$1-$2" >"$T/out"
  grep -q '^Reused' "$T/out" && grep -aq 'HTTP/1.1 200' "$T/out"
}
reload() {  # reload N: SIGHUP, then wait for the Nth "config reloaded" line
  kill -HUP "$GW_PID"
  wait_for_count "$T/gate.log" '"msg":"config reloaded"' "$1"
}

for v in tls1_2 tls1_3; do
  for device in compliant other-ca; do
    s_client "$device" "$v" -sess_out "$T/session-$device-$v" >"$T/out"
    grep -aq 'HTTP/1.1 200' "$T/out" || fail "$device $v: not served: $(tail -c 300 "$T/out")"
    grep -q '^New' "$T/out" || fail "$device $v: the first handshake should be a full one"
  done
  # Eight connections from eight source ports: SO_REUSEPORT spreads them over both workers.
  for i in 1 2 3 4 5 6 7 8; do
    resumed compliant "$v" || fail "$v: resumption $i of the same session failed: $(grep -a -m3 'Reused\|New\|HTTP' "$T/out")"
  done
  ok "$v: a session resumes on every connection (both workers)"
done

# A reload that changes no certificate: the sessions stay resumable (the ticket keys are the process's).
reload 1
for v in tls1_2 tls1_3; do
  for device in compliant other-ca; do
    resumed "$device" "$v" || fail "$device $v: not resumed after a reload without certificate changes: $(grep -a -m3 'Reused\|New\|HTTP' "$T/out")"
  done
  ok "$v: sessions resumed after a reload that changed no certificate"
done

# client_ca without the other CA: its certificate must not come back through an old session.
cp "$PKI/device-ca.crt" "$T/client-ca.pem"
reload 2
for v in tls1_2 tls1_3; do
  s_client other-ca "$v" -sess_in "$T/session-other-ca-$v" >"$T/out"
  if grep -q '^Reused' "$T/out"; then fail "other-ca $v: session resumed after its CA left client_ca"; fi
  if grep -aq 'HTTP/1.1' "$T/out"; then fail "other-ca $v: served after its CA left client_ca: $(grep -a 'HTTP/1.1' "$T/out")"; fi
  s_client compliant "$v" -sess_in "$T/session-compliant-$v" >"$T/out"
  grep -aq 'HTTP/1.1 200' "$T/out" || fail "compliant $v: not served after the client_ca change: $(tail -c 300 "$T/out")"
  ok "$v: after client_ca changed, the removed CA's session is refused, a trusted certificate is served"
done
expect_gateway_alive
echo "PASS $TEST_NAME"
