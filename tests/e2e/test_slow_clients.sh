#!/usr/bin/env bash
# Connection-slot exhaustion: hundreds of plain TCP connections that never send a ClientHello and
# a hundred TLS clients that send their header a byte at a time, from a few addresses, while a
# normal client (another address) keeps opening connections: every one of its requests is answered.
# Holds because of max_connections_per_address, max_pending_handshakes (the oldest unfinished
# handshake gives way), handshake_timeout_s and header_timeout_s.
source "$(dirname "$0")/lib.sh"
ADMIN_PORT=$(free_port)
start_all "{\"admin\": {\"address\": \"127.0.0.1\", \"port\": $ADMIN_PORT},
            \"limits\": {\"max_connections\": 400, \"max_connections_per_address\": 100,
                         \"max_pending_handshakes\": 200, \"handshake_timeout_s\": 2, \"header_timeout_s\": 2,
                         \"idle_timeout_s\": 30}}"

python3 - "$GW_PORT" "$PKI" <<'PY' || fail "a normal client was not served during the attack"
import select, socket, ssl, sys, threading, time
port, pki = int(sys.argv[1]), sys.argv[2]
stop = threading.Event()
ctx = ssl.create_default_context(cafile=pki + "/server-ca.crt")
ctx.load_cert_chain(pki + "/device-compliant.crt", pki + "/device-compliant.key")

def connect_from(source):
    s = socket.socket()
    s.bind((source, 0))
    s.setblocking(False)
    try: s.connect(("127.0.0.1", port))
    except BlockingIOError: pass
    return s

# 300 silent connections from 127.0.0.2-4; each one the gateway closes is opened again 0.5 s later.
stallers_ready = threading.Event()
def stallers():
    socks = {}
    for i in range(300):
        s = connect_from("127.0.0.%d" % (2 + i % 3)); socks[s] = s.getsockname()[0]
    stallers_ready.set()
    reopen = []
    while not stop.is_set():
        r, _, _ = select.select(list(socks), [], [], 0.1)
        for s in r:
            try: data = s.recv(1)
            except OSError: data = b""
            if not data:
                reopen.append((time.time() + 0.5, socks.pop(s))); s.close()
        now = time.time()
        for when, src in [x for x in reopen if x[0] <= now]:
            reopen.remove((when, src)); s = connect_from(src); socks[s] = src
    for s in socks: s.close()

# 100 TLS clients from 127.0.0.5 sending "GET / HTTP/1.1\r\n..." one byte every 0.5 s.
tricklers_ready = threading.Event()
def tricklers():
    line = b"GET /slow HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 1000
    def open_one():
        try:
            raw = socket.socket(); raw.bind(("127.0.0.5", 0)); raw.settimeout(5)
            raw.connect(("127.0.0.1", port))
            return [ctx.wrap_socket(raw, server_hostname="localhost"), 0]
        except OSError:
            return None
    conns = [c for c in (open_one() for _ in range(100)) if c]
    tricklers_ready.set()
    while not stop.is_set():
        for i, c in enumerate(conns):
            try:
                if c is None: raise OSError
                c[0].send(line[c[1] % len(line):][:1]); c[1] += 1
            except OSError:
                if c is not None: c[0].close()
                conns[i] = open_one()
        time.sleep(0.5)

threads = [threading.Thread(target=stallers, daemon=True), threading.Thread(target=tricklers, daemon=True)]
for t in threads: t.start()
if not (stallers_ready.wait(30) and tricklers_ready.wait(60)): sys.exit("attackers did not start")
time.sleep(1)

# The normal client, from 127.0.0.9: a new connection per request for 10 s.
failures, latencies, end = [], [], time.time() + 10
while time.time() < end:
    t0 = time.time()
    try:
        raw = socket.socket(); raw.bind(("127.0.0.9", 0)); raw.settimeout(10)
        raw.connect(("127.0.0.1", port))
        c = ctx.wrap_socket(raw, server_hostname="localhost")
        c.sendall(b"GET /normal HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            b = c.recv(65536)
            if not b: break
            data += b
        c.close()
        if not data.startswith(b"HTTP/1.1 200"): failures.append(repr(data[:60]))
    except OSError as e:
        failures.append(repr(e))
    latencies.append(time.time() - t0)
    time.sleep(0.2)
stop.set()
for t in threads: t.join(10)
print(f"normal client: {len(latencies)} requests, {len(failures)} failed, slowest {max(latencies):.2f}s")
if failures: sys.exit("failures: " + "; ".join(failures[:5]))
if len(latencies) < 10: sys.exit("too few requests")
PY
ok "normal client served throughout"
curl -sS --max-time 10 "http://127.0.0.1:$ADMIN_PORT/metrics" >"$T/metrics"
grep -E '^intune_gate_(handshakes_evicted|connections_refused)' "$T/metrics"
evicted=$(awk '/^intune_gate_handshakes_evicted_total/ {print $2}' "$T/metrics")
[ "${evicted:-0}" -gt 0 ] || fail "no handshake was evicted: the pending budget was not exercised"
ok "pending-handshake budget exercised ($evicted evicted)"
echo "PASS $TEST_NAME"
