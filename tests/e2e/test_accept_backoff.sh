#!/usr/bin/env bash
# Out of file descriptors (EMFILE): the accept loop pauses instead of spinning, counts the failures
# in /metrics, logs them at most once per interval, and serves again once descriptors are free.
source "$(dirname "$0")/lib.sh"
make_pki
start_emulator
start_upstream
ADMIN_PORT=$(free_port)
write_config "{\"admin\": {\"address\": \"127.0.0.1\", \"port\": $ADMIN_PORT},
               \"limits\": {\"handshake_timeout_s\": 60, \"header_timeout_s\": 60}}"
NOFILE=64
IG_GATE_WRAPPER="prlimit --nofile=$NOFILE:$NOFILE" start_gateway

python3 - "$GW_PORT" "$ADMIN_PORT" "$GW_PID" "$NOFILE" "$PKI" <<'PY' || fail "accept loop under EMFILE"
import os, re, socket, ssl, sys, time, urllib.request
port, admin, pid, nofile, pki = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
def cpu_ticks():
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime
def metric(name):
    text = urllib.request.urlopen(f"http://127.0.0.1:{admin}/metrics", timeout=10).read().decode()
    m = re.search(rf"^{name} (\d+)$", text, re.M)
    return int(m.group(1)) if m else None
# More silent connections than the gateway has descriptors left: the rest wait in the backlog and
# every accept of them fails with EMFILE.
held = [socket.create_connection(("127.0.0.1", port)) for _ in range(nofile + 20)]
deadline = time.time() + 20
while len(os.listdir(f"/proc/{pid}/fd")) < nofile and time.time() < deadline: time.sleep(0.1)
time.sleep(0.5)
hz = os.sysconf("SC_CLK_TCK")
t0, c0 = time.time(), cpu_ticks()
time.sleep(3)
used = (cpu_ticks() - c0) / hz / (time.time() - t0)
print(f"gateway CPU while out of descriptors: {used * 100:.0f}% of one core")
assert used < 0.15, f"the accept loop spins: {used * 100:.0f}% CPU"
for s in held: s.close()
# (The admin listener was out of descriptors too: read the count once they are free.)
deadline = time.time() + 30
while True:
    try:
        errors = metric("intune_gate_accept_errors_total"); break
    except OSError:
        assert time.time() < deadline, "admin listener not answering after descriptors were freed"
        time.sleep(0.5)
assert errors and errors > 0, f"accept errors not counted: {errors}"
print(f"ok: {errors} accept errors counted")
# Descriptors free again: a normal client is served (the backlog drains first).
ctx = ssl.create_default_context(cafile=pki + "/server-ca.crt")
ctx.load_cert_chain(pki + "/device-compliant.crt", pki + "/device-compliant.key")
deadline = time.time() + 30
while True:
    try:
        c = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10), server_hostname="localhost")
        c.sendall(b"GET /after HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        if c.recv(12) == b"HTTP/1.1 200": break
    except OSError:
        pass
    assert time.time() < deadline, "not served after descriptors were freed"
    time.sleep(0.5)
print("ok: served again after descriptors were freed")
PY
lines=$(grep -c '"msg":"accept failed' "$T/gate.log" || true)
[ "$lines" -ge 1 ] && [ "$lines" -le 3 ] || fail "accept failures logged $lines times (want once per 10 s)"
ok "accept failures logged $lines time(s)"
kill -TERM "$GW_PID"; wait "$GW_PID" || fail "gateway exit status after SIGTERM: $?"
echo "PASS $TEST_NAME"
