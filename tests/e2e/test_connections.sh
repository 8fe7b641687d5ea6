#!/usr/bin/env bash
# Connection handling: TLS session resumption keeps the device, the trusted-header device source,
# handshake and idle timeouts, max_connections, and an https upstream (verified, SNI).
source "$(dirname "$0")/lib.sh"
start_all '{"device_id":{"sources":["header","san_uri"],"trusted_peers":["127.0.0.1/32"]},
            "limits":{"handshake_timeout_s":1,"idle_timeout_s":1,"max_connections":3}}'

# Session resumption: the resumed connection still carries the certificate's device ID.
req='GET /resumed HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
s_client() {
  openssl s_client -connect "127.0.0.1:$GW_PORT" -servername localhost -CAfile "$PKI/server-ca.crt" \
    -cert "$PKI/device-ingraceperiod.crt" -key "$PKI/device-ingraceperiod.key" -ign_eof "$@"
}
for v in tls1_2 tls1_3; do
  printf "$req" | s_client -$v -sess_out "$T/session" >"$T/first" 2>&1 || true
  printf "$req" | s_client -$v -sess_in "$T/session" >"$T/second" 2>&1 || true
  grep -q '^Reused' "$T/second" || fail "$v: the TLS session was not resumed: $(grep -E '^(New|Reused)' "$T/second")"
  ok "$v: TLS session resumed"
  grep -q '"X-Intune-Outcome","InGracePeriod"' "$T/second" || fail "$v: resumed session lost the device: $(tail -c 300 "$T/second")"
  ok "$v: resumed session keeps the device ID"
done

# The header source, honoured from a trusted peer (127.0.0.1/32 here), tried before the certificate.
gw_curl compliant -o "$T/body" -H 'X-Intune-Device-Id: 3F2504E0-4F89-41D3-9A0C-0305E82C3303' "$GW/"
expect_eq "trusted header: outcome of the header's device" "$(json_get "$T/body" 'h("X-Intune-Outcome")')" InGracePeriod
expect_eq "trusted header: id passed on in lower case" "$(json_get "$T/body" 'h("X-Intune-Device-Id")')" 3f2504e0-4f89-41d3-9a0c-0305e82c3303
gw_curl compliant -o "$T/body" -H 'X-Intune-Device-Id: not-a-guid' "$GW/"
expect_eq "trusted header not a GUID: certificate used" "$(json_get "$T/body" 'h("X-Intune-Outcome")')" Compliant

# A silent client is cut off by the handshake timeout (1 s); an idle one by the idle timeout (1 s).
python3 - "$GW_PORT" "$PKI" <<'PY' || fail "timeouts"
import socket, ssl, sys, time
port, pki = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port)); s.settimeout(5)
t = time.time()
assert s.recv(1) == b"", "silent client got data"
dt = time.time() - t
assert 0.5 < dt < 3, f"handshake timeout after {dt:.1f}s"
print(f"ok: silent client cut off after {dt:.1f}s")
ctx = ssl.create_default_context(cafile=pki + "/server-ca.crt")
ctx.load_cert_chain(pki + "/device-compliant.crt", pki + "/device-compliant.key")
c = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="localhost"); c.settimeout(5)
c.sendall(b"GET /idle HTTP/1.1\r\nHost: x\r\n\r\n")
data = b""
while b"body_sha256" not in data: data += c.recv(65536)
t = time.time()
try:
    while c.recv(65536): pass
except (ssl.SSLError, ConnectionResetError): pass
dt = time.time() - t
assert 0.5 < dt < 3, f"idle timeout after {dt:.1f}s"
print(f"ok: idle keep-alive connection closed after {dt:.1f}s")
PY

# max_connections (3): a fourth connection is closed at once; the first three still work.
python3 - "$GW_PORT" "$PKI" <<'PY' || fail "max_connections"
import socket, ssl, sys, time
port, pki = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=pki + "/server-ca.crt")
ctx.load_cert_chain(pki + "/device-compliant.crt", pki + "/device-compliant.key")
held = [ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="localhost") for _ in range(3)]
time.sleep(0.2)
try:
    extra = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="localhost")
    extra.settimeout(2)
    extra.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert extra.recv(100) == b"", "fourth connection served"
except (ssl.SSLError, ConnectionResetError, BrokenPipeError, socket.timeout):
    pass
print("ok: fourth connection refused")
held[0].settimeout(5)
held[0].sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
assert held[0].recv(12).startswith(b"HTTP/1.1 200"), "held connection not served"
print("ok: held connections still served")
PY

# An https upstream: verified against its CA, SNI and host name checked (the emulator serves TLS).
emu_port=${EMU##*:}
kill "$GW_PID"; wait "$GW_PID" 2>/dev/null || true
write_config '{"upstream":{"url":"https://localhost:'"$emu_port"'","ca_file":"'"$PKI/server-ca.crt"'"}}'
start_gateway
expect_eq "https upstream reached" "$(gw_curl compliant -o "$T/body" -w '%{http_code}' "$GW/_emulator/stats")" 200
jq -e '.token_requests >= 1' "$T/body" >/dev/null || fail "https upstream: not the emulator's answer: $(head -c 200 "$T/body")"
ok "https upstream answered through the gateway"
kill "$GW_PID"; wait "$GW_PID" 2>/dev/null || true
write_config '{"upstream":{"url":"https://localhost:'"$emu_port"'","ca_file":"'"$PKI/device-ca.crt"'"}}'
start_gateway
expect_eq "https upstream with an untrusted certificate: 502" "$(gw_curl compliant -o /dev/null -w '%{http_code}' "$GW/_emulator/stats")" 502
echo "PASS $TEST_NAME"
