#!/usr/bin/env bash
# The plugin endpoint's connections (issue 26 #1, #4; docs/hostile-clients.md "The plugin endpoint"):
#  1. a CRL loaded by SIGHUP applies to a keep-alive connection opened before the reload: the next
#     check on it refuses the revoked certificate (and a trusted_peers change applies the same way);
#  2. a peer outside trusted_peers is closed at accept, counted, and holds no slot;
#  3. trusted connections that sit idle give way when max_connections is reached.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_authz.sh"
make_pki
empty_crl device-ca "$T/crl.pem"
start_authz_gateway '{"tls": {"crl": "'"$T/crl.pem"'"}, "limits": {"max_connections": 4, "idle_timeout_s": 60}}'
REVOKED_CERT=$(cert_header der revoked)  # device-revoked: the compliant device's ID, revoked by device-ca.crl

# 1. One keep-alive connection, checks before and after a reload that revokes its certificate.
python3 - "$AUTHZ_PORT" "$GW_PID" "$T" "$PKI" "$REVOKED_CERT" <<'PY' || fail "revocation on a kept-alive connection"
import http.client, json, os, re, shutil, signal, sys, time
port, pid, tmp, pki, cert = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
def check():
    conn.request("GET", "/authz", headers={"Client-Cert": cert})
    r = conn.getresponse()
    return r.status, r.read(), r.getheader("Connection")
status, body, connection = check()
assert status == 200, f"before the reload: {status} {body!r}"
assert (connection or "").lower() != "close", "the endpoint closed the connection after a 200"
sock = conn.sock
def reloads():
    return len(re.findall(r'"msg":"config reloaded"', open(tmp + "/gate.log").read()))
shutil.copy(pki + "/device-ca.crl", tmp + "/crl.pem")
os.kill(pid, signal.SIGHUP)
deadline = time.time() + 20
while reloads() < 1:
    assert time.time() < deadline, "no reload"
    time.sleep(0.1)
status, body, _ = check()
assert conn.sock is sock, "the check did not run on the connection opened before the reload"
assert status == 403, f"revoked certificate on the old connection: {status} {body!r}"
assert json.loads(body)["reason"] == "certificate not verified", body
print("ok: a CRL reloaded while a keep-alive connection waited refuses the next check on it (403)")
PY
status=$(authz_check "$T/r" -H "Client-Cert: $REVOKED_CERT" "$AUTHZ/authz")
expect_eq "revoked certificate on a new connection" "$status" 403

# 2. Untrusted peers (127.0.0.2 is loopback, not in trusted_peers): closed at once, without an
# answer, more of them than there are slots; counted; a trusted check still gets through.
untrusted_before=$(metric 'intune_gate_authz_checks_total{result="untrusted_peer"}')
python3 - "$AUTHZ_PORT" <<'PY' || fail "untrusted peers at accept"
import socket, sys, time
port = int(sys.argv[1])
held = []
for _ in range(8):
    s = socket.socket()
    s.bind(("127.0.0.2", 0))
    s.connect(("127.0.0.1", port))
    s.settimeout(5)
    held.append(s)
for i, s in enumerate(held):
    t = time.time()
    try:
        data = s.recv(100)
    except ConnectionResetError:
        data = b""
    except socket.timeout:
        raise AssertionError(f"untrusted connection {i} still open after 5 s")
    assert data == b"", f"untrusted connection {i} got an answer: {data!r}"
print("ok: 8 untrusted connections closed at accept, without an answer")
PY
untrusted_after=$(metric 'intune_gate_authz_checks_total{result="untrusted_peer"}')
expect_eq "untrusted connections counted" "$((untrusted_after - untrusted_before))" 8
expect_eq "trusted check after the untrusted flood" \
  "$(authz_check "$T/r" -H "Client-Cert: $(cert_header der compliant)" "$AUTHZ/authz")" 200

# 3. max_connections (4) held by trusted connections that send nothing, or half a header: the one
# idle the longest gives way to each new connection, so checks keep getting through.
python3 - "$AUTHZ_PORT" "$(cert_header der compliant)" <<'PY' || fail "idle trusted connections"
import http.client, socket, sys, time
port, cert = int(sys.argv[1]), sys.argv[2]
held = []
for i in range(4):
    s = socket.create_connection(("127.0.0.1", port))
    if i % 2: s.sendall(b"GET /authz HTTP/1.1\r\nHost: x\r\n")  # half a header
    held.append(s)
time.sleep(0.3)
for round in range(3):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/authz", headers={"Client-Cert": cert, "Connection": "close"})
    r = conn.getresponse()
    assert r.status == 200, f"check {round} with the slots held: {r.status}"
    conn.close()
held[0].settimeout(5)
assert held[0].recv(100) == b"", "the oldest idle connection was not closed"
print("ok: idle trusted connections gave way; checks answered at max_connections")
PY
[ "$(metric intune_gate_authz_idle_evicted_total)" -ge 1 ] || fail "evictions not counted"
ok "evictions counted"

# 1b. trusted_peers reloaded without 127.0.0.1: a connection opened before is refused on its next check.
python3 - "$AUTHZ_PORT" "$GW_PID" "$T" "$(cert_header der compliant)" <<'PY' || fail "trusted_peers reload"
import http.client, json, os, re, signal, sys, time
port, pid, tmp, cert = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
conn.request("GET", "/authz", headers={"Client-Cert": cert})
r = conn.getresponse(); r.read()
assert r.status == 200, r.status
cfg = json.load(open(tmp + "/gate.json"))
cfg["authz"]["trusted_peers"] = ["192.0.2.0/24"]
json.dump(cfg, open(tmp + "/gate.json", "w"))
os.kill(pid, signal.SIGHUP)
deadline = time.time() + 20
while len(re.findall(r'"msg":"config reloaded"', open(tmp + "/gate.log").read())) < 2:
    assert time.time() < deadline, "no reload"
    time.sleep(0.1)
conn.request("GET", "/authz", headers={"Client-Cert": cert})
r = conn.getresponse(); body = r.read()
assert r.status == 403 and json.loads(body)["reason"] == "untrusted peer", f"{r.status} {body!r}"
print("ok: a peer dropped from trusted_peers is refused on its open connection")
PY
stop_gateway_and_check_log
echo "PASS $TEST_NAME"
