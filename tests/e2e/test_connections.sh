#!/usr/bin/env bash
# Connection handling: TLS session resumption keeps the device and ends with tls.session_timeout_s,
# the trusted-header device source (a repeated header refused, an untrusted peer's header ignored),
# handshake and idle timeouts, max_connections and max_connections_per_address, and an https
# upstream (verified, SNI, host name checked).
source "$(dirname "$0")/lib.sh"
SESSION_TIMEOUT=3
start_all '{"device_id":{"sources":["header","san_uri"],"trusted_peers":["127.0.0.1/32"]},
            "tls":{"session_timeout_s":'"$SESSION_TIMEOUT"'},
            "limits":{"handshake_timeout_s":1,"idle_timeout_s":1,"max_connections":3}}'

# Session resumption: the resumed connection still carries the certificate's device ID.
req='GET /resumed HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
s_client() {
  openssl s_client -connect "127.0.0.1:$GW_PORT" -servername localhost -CAfile "$PKI/server-ca.crt" \
    -cert "$PKI/device-ingraceperiod.crt" -key "$PKI/device-ingraceperiod.key" -ign_eof "$@"
}
sessions_made=$(date +%s)
for v in tls1_2 tls1_3; do
  printf "$req" | s_client -$v -sess_out "$T/session-$v" >"$T/first" 2>&1 || true
  printf "$req" | s_client -$v -sess_in "$T/session-$v" >"$T/second" 2>&1 || true
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

# The header twice from a trusted peer (a terminator that appends instead of replacing passes the
# client's own along): which one it set cannot be told, so 400, no lookup, nothing forwarded, even
# when the certificate has an ID and even when both copies agree.
emu_ctl POST /_emulator/reset >/dev/null
hits=$(upstream_hits)
for second in 3f2504e0-4f89-41d3-9a0c-0305e82c3303 3F2504E0-4F89-41D3-9A0C-0305E82C3301; do
  status=$(gw_curl compliant -o "$T/body" -w '%{http_code}' -H "X-Intune-Device-Id: 3f2504e0-4f89-41d3-9a0c-0305e82c3301" \
    -H "x-intune-device-id: $second" "$GW/twice")
  expect_eq "trusted header twice ($second): 400" "$status" 400
  expect_eq "trusted header twice: reason" "$(json_get "$T/body" 'd.get("reason")')" "ambiguous device header"
done
expect_eq "trusted header twice: upstream untouched" "$(upstream_hits)" "$hits"
expect_eq "trusted header twice: Graph not asked" "$(emu_ctl GET /_emulator/stats | jq '.graph_requests')" 0
wait_for_line "$T/gate.log" '"error":"device_id.header repeated by a trusted peer"' 10 >/dev/null
ok "trusted header twice: in the access log"

# A silent client is cut off by the handshake timeout (1 s); an idle one by the idle timeout (1 s).
# The timers cannot fire early, so the lower bounds hold on any machine; the ceilings are generous.
python3 - "$GW_PORT" "$PKI" <<'PY' || fail "timeouts"
import socket, ssl, sys, time
port, pki = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port)); s.settimeout(60)
t = time.time()
try:
    assert s.recv(1) == b"", "silent client got data"
except ConnectionResetError:
    pass
except socket.timeout:
    raise AssertionError("a silent client was not cut off within 60 s")
dt = time.time() - t
assert dt > 0.5, f"silent client cut off after {dt:.1f}s, before the 1 s handshake timeout"
print(f"ok: silent client cut off after {dt:.1f}s")
ctx = ssl.create_default_context(cafile=pki + "/server-ca.crt")
ctx.load_cert_chain(pki + "/device-compliant.crt", pki + "/device-compliant.key")
c = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="localhost"); c.settimeout(60)
c.sendall(b"GET /idle HTTP/1.1\r\nHost: x\r\n\r\n")
data = b""
while b"body_sha256" not in data:
    chunk = c.recv(65536)
    assert chunk, f"the connection closed before the whole answer came: {data[:200]!r}"
    data += chunk
t = time.time()
try:
    while c.recv(65536): pass
except (ssl.SSLError, ConnectionResetError): pass
except socket.timeout:
    raise AssertionError("an idle keep-alive connection was not closed within 60 s")
dt = time.time() - t
assert dt > 0.5, f"idle connection closed after {dt:.1f}s, before the 1 s idle timeout"
print(f"ok: idle keep-alive connection closed after {dt:.1f}s")
PY

# tls.session_timeout_s (3 s): a session older than that is not resumed (a full handshake instead,
# still served). The sessions resumed above, so resumption itself works.
while [ "$(date +%s)" -le $((sessions_made + SESSION_TIMEOUT + 1)) ]; do sleep 0.2; done
for v in tls1_2 tls1_3; do
  printf "$req" | s_client -$v -sess_in "$T/session-$v" >"$T/late" 2>&1 || true
  if grep -q '^Reused' "$T/late"; then fail "$v: a session older than session_timeout_s was resumed"; fi
  grep -aq '"X-Intune-Outcome","InGracePeriod"' "$T/late" || fail "$v: not served after the session expired: $(tail -c 300 "$T/late")"
  ok "$v: session older than session_timeout_s not resumed, full handshake served"
done

# From here on: generous timeouts, at most 3 connections (2 from one address), and a device header
# trusted only from 192.0.2.0/24, which the test's 127.0.0.1 is not.
kill "$GW_PID"; wait "$GW_PID" 2>/dev/null || true
ADMIN_PORT=$(free_port); ADMIN=http://127.0.0.1:$ADMIN_PORT
write_config '{"device_id":{"sources":["header","san_uri"],"trusted_peers":["192.0.2.0/24"]},
               "limits":{"handshake_timeout_s":30,"idle_timeout_s":60,"max_connections":3,"max_connections_per_address":2},
               "admin":{"address":"127.0.0.1","port":'"$ADMIN_PORT"'}}'
start_gateway

# trusted_peers: the device header from an untrusted peer is ignored, the certificate decides.
gw_curl compliant -o "$T/body" -H 'X-Intune-Device-Id: 3f2504e0-4f89-41d3-9a0c-0305e82c3303' "$GW/"
expect_eq "untrusted peer's header ignored: the certificate's outcome" "$(json_get "$T/body" 'h("X-Intune-Outcome")')" Compliant
expect_eq "untrusted peer's header ignored: the certificate's id" "$(json_get "$T/body" 'h("X-Intune-Device-Id")')" 3f2504e0-4f89-41d3-9a0c-0305e82c3301
expect_eq "untrusted peer's header without a certificate: NoId (401)" \
  "$(gw_curl "" -o /dev/null -w '%{http_code}' -H 'X-Intune-Device-Id: 3f2504e0-4f89-41d3-9a0c-0305e82c3301' "$GW/")" 401
gw_curl compliant -o "$T/body" -H 'X-Intune-Device-Id: 3f2504e0-4f89-41d3-9a0c-0305e82c3303' \
  -H 'X-Intune-Device-Id: 3f2504e0-4f89-41d3-9a0c-0305e82c3302' "$GW/"
expect_eq "untrusted peer's header twice: ignored, the certificate's outcome" "$(json_get "$T/body" 'h("X-Intune-Outcome")')" Compliant

# max_connections (3) and max_connections_per_address (2), with connections the gateway holds (each
# has been served): a third from 127.0.0.1 is closed without an answer while one from 127.0.0.2 is
# still served; with three open, a fourth (127.0.0.3) is closed; the held ones still work.
none_open() { [ "$(admin_metric intune_gate_open_connections)" = 0 ]; }
wait_until 20 "the earlier clients' connections are closed" none_open
python3 - "$GW_PORT" "$PKI" <<'PY' || fail "max_connections / max_connections_per_address"
import re, socket, ssl, sys
port, pki = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=pki + "/server-ca.crt")
ctx.load_cert_chain(pki + "/device-compliant.crt", pki + "/device-compliant.key")
def connect(source):
    raw = socket.socket(); raw.bind((source, 0)); raw.settimeout(60)
    raw.connect(("127.0.0.1", port))
    return ctx.wrap_socket(raw, server_hostname="localhost")
def served(conn):  # one whole response (headers and Content-Length body) read, so the next starts clean
    conn.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        assert chunk, f"closed before the answer: {data[:100]!r}"
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    length = int(re.search(rb"(?im)^content-length:\s*(\d+)", head).group(1))
    while len(body) < length:
        chunk = conn.recv(65536)
        assert chunk, "closed in the middle of the body"
        body += chunk
    assert len(body) == length, "more than one response"
    return head.startswith(b"HTTP/1.1 200")
def refused(source, what):
    try:
        extra = connect(source)
        extra.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert extra.recv(100) == b"", f"{what} served"
    except socket.timeout:
        raise AssertionError(f"{what} was neither served nor closed within 60 s")
    except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
        pass
    print(f"ok: {what} refused")
held = []
for source in ("127.0.0.1", "127.0.0.1"):
    c = connect(source)
    assert served(c), "a connection within the limits was not served"
    held.append(c)
refused("127.0.0.1", "third connection from one address (max_connections_per_address 2)")
c = connect("127.0.0.2")
assert served(c), "a connection from another address was not served next to the two held"
held.append(c)
print("ok: another address served while one address is at its limit")
refused("127.0.0.3", "fourth connection (max_connections 3)")
for c in held:
    assert served(c), "held connection not served"
print("ok: held connections still served")
PY
expect_eq "refused by max_connections_per_address: counted" \
  "$(admin_metric 'intune_gate_connections_refused_total{limit="max_connections_per_address"}')" 1
expect_eq "refused by max_connections: counted" \
  "$(admin_metric 'intune_gate_connections_refused_total{limit="max_connections"}')" 1

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
