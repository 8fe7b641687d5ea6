#!/usr/bin/env bash
# The front end's and the admin listener's slots against idle floods, and what a reload means for
# connections already open (issue 26 #1, #3, #12, #13; docs/hostile-clients.md):
#  1. max_connections held by connections that finished the handshake and send nothing (or half a
#     header): the oldest gives way, a real device gets through;
#  2. 64+ idle admin connections: /healthz and /readyz still answer;
#  3. a reload that changes the CRL closes the idle keep-alive connections verified under the old
#     one; a reload that changes nothing keeps them;
#  4. a session made without a certificate in "optional" mode does not resume after a reload to
#     "required".
source "$(dirname "$0")/lib.sh"
make_pki
start_emulator
start_upstream
empty_crl device-ca "$T/crl.pem"
ADMIN_PORT=$(free_port)
ADMIN=http://127.0.0.1:$ADMIN_PORT
config() {  # config MODE: the config of this test with client_certificate MODE
  write_config '{"workers": 1, "admin": {"address": "127.0.0.1", "port": '"$ADMIN_PORT"'},
    "tls": {"crl": "'"$T/crl.pem"'", "client_certificate": "'"$1"'"},
    "limits": {"max_connections": 4, "max_connections_per_address": 100, "handshake_timeout_s": 30,
               "header_timeout_s": 30, "idle_timeout_s": 60}}'
}
config optional
start_gateway
reload() {  # reload N: SIGHUP, then wait for the Nth "config reloaded" line
  kill -HUP "$GW_PID"
  wait_for_count "$T/gate.log" '"msg":"config reloaded"' "$1"
}

# 1. Four TLS connections without a certificate (optional mode) that finish the handshake and send
# nothing, or half a header, fill max_connections (4).
python3 - "$GW_PORT" "$PKI" "$ADMIN_PORT" <<'PY' || fail "idle TLS connections at max_connections"
import re, socket, ssl, subprocess, sys, time, urllib.request
port, pki, admin = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
def metric(name):
    text = urllib.request.urlopen(f"http://127.0.0.1:{admin}/metrics", timeout=10).read().decode()
    m = re.search(rf"^{re.escape(name)} (\d+)$", text, re.M)
    return int(m.group(1)) if m else 0
ctx = ssl.create_default_context(cafile=pki + "/server-ca.crt")
held = []
for i in range(4):
    c = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="localhost")
    if i == 3: c.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # half a header
    held.append(c)
deadline = time.time() + 20
while metric("intune_gate_tls_handshakes_total") < 4:
    assert time.time() < deadline, "the handshakes did not complete"
    time.sleep(0.1)
for round in range(3):
    out = subprocess.run(["curl", "-sS", "--max-time", "20", "--cacert", pki + "/server-ca.crt",
                          "--cert", pki + "/device-compliant.crt", "--key", pki + "/device-compliant.key",
                          "-o", "/dev/null", "-w", "%{http_code}", f"https://127.0.0.1:{port}/"],
                         capture_output=True, text=True)
    assert out.stdout == "200", f"device {round} at max_connections: {out.stdout} {out.stderr}"
held[0].settimeout(5)
try:
    assert held[0].recv(100) == b"", "the oldest idle connection got data"
except (ssl.SSLError, ConnectionResetError):
    pass
assert metric("intune_gate_idle_evicted_total") >= 1, "evictions not counted"
print("ok: a device got through max_connections held by idle TLS connections (the oldest gave way)")
PY

# 2. The admin listener (64 connections at most): idle connections give way to the probes.
python3 - "$ADMIN_PORT" <<'PY' || fail "admin probes behind idle connections"
import socket, sys, time, urllib.request
port = int(sys.argv[1])
held = [socket.create_connection(("127.0.0.1", port)) for _ in range(80)]
held[5].sendall(b"GET /healthz HTTP/1.1\r\n")  # half a header
time.sleep(0.5)
for path in ("/healthz", "/readyz", "/healthz"):
    r = urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5)
    assert r.status == 200, f"{path}: {r.status}"
print("ok: /healthz and /readyz answered with 80 idle admin connections open")
PY

# 3. A kept-alive connection (device-revoked, not yet revoked) stays open across a reload that
# changes nothing and is closed by one that loads a CRL revoking it; a new connection is refused.
python3 - "$GW_PORT" "$PKI" "$GW_PID" "$T" <<'PY' || fail "open connections across a CRL reload"
import os, re, shutil, signal, socket, ssl, sys, time
port, pki, pid, tmp = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
ctx = ssl.create_default_context(cafile=pki + "/server-ca.crt")
ctx.load_cert_chain(pki + "/device-revoked.crt", pki + "/device-revoked.key")
c = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="localhost")
c.settimeout(20)
def served():
    c.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = c.recv(65536)
        assert chunk, f"closed before the answer: {data[:100]!r}"
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    length = int(re.search(rb"(?im)^content-length:\s*(\d+)", head).group(1))
    while len(body) < length:
        body += c.recv(65536)
    return head.split(b"\r\n", 1)[0]
def reload(n):
    os.kill(pid, signal.SIGHUP)
    deadline = time.time() + 20
    while len(re.findall(r'"msg":"config reloaded"', open(tmp + "/gate.log").read())) < n:
        assert time.time() < deadline, "no reload"
        time.sleep(0.1)
assert served().startswith(b"HTTP/1.1 200"), "not served before the reloads"
reload(1)
time.sleep(0.5)
assert served().startswith(b"HTTP/1.1 200"), "a reload that changed nothing closed or refused the connection"
shutil.copy(pki + "/device-ca.crl", tmp + "/crl.pem")
reload(2)
t = time.time()
try:
    data = c.recv(100)
except (ssl.SSLError, ConnectionResetError):
    data = b""
except socket.timeout:
    raise AssertionError("the idle connection of the revoked certificate stayed open after the CRL reload")
assert data == b"", f"data instead of a close: {data!r}"
print(f"ok: idle keep-alive connection closed {time.time() - t:.1f}s after the CRL reload")
PY
expect_eq "revoked certificate on a new connection" "$(gw_curl revoked -o /dev/null -w '%{http_code}' "$GW/" 2>/dev/null || true)" 000

# 4. optional -> required: a session made without a certificate must not resume.
req='GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
for v in tls1_2 tls1_3; do
  printf "$req" | openssl s_client -connect "127.0.0.1:$GW_PORT" -servername localhost -CAfile "$PKI/server-ca.crt" \
    -ign_eof "-$v" -sess_out "$T/session-$v" >"$T/out" 2>&1 || true
  grep -aq 'HTTP/1.1 401' "$T/out" || fail "$v: no certificate in optional mode should be NoId (401): $(tail -c 300 "$T/out")"
done
config required
reload 3
for v in tls1_2 tls1_3; do
  printf "$req" | openssl s_client -connect "127.0.0.1:$GW_PORT" -servername localhost -CAfile "$PKI/server-ca.crt" \
    -ign_eof "-$v" -sess_in "$T/session-$v" >"$T/out" 2>&1 || true
  if grep -q '^Reused' "$T/out"; then fail "$v: a session without a certificate resumed after the reload to required"; fi
  if grep -aq 'HTTP/1.1' "$T/out"; then fail "$v: served without a certificate in required mode: $(grep -a 'HTTP/1.1' "$T/out")"; fi
  ok "$v: no resumption of a certificate-less session after the reload to required"
done
expect_gateway_alive
stop_gateway_and_check_log
echo "PASS $TEST_NAME"
