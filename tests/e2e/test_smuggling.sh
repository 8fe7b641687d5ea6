#!/usr/bin/env bash
# The standing adversarial suite: a table of raw requests (smuggling, hygiene, framing, Host and
# request-target forms) replayed over mTLS through the gateway to a recording upstream; for each,
# the status the client got and EXACTLY the bytes the upstream received (X-Request-Id masked).
source "$(dirname "$0")/lib.sh"
make_pki
start_emulator
mkdir -p "$T/rec"
python3 "$TOP/tests/e2e/recording_upstream.py" "$T/rec" >"$T/upstream.log" 2>&1 &
PIDS+=($!); UP_PID=$!
UP=$(wait_for_line "$T/upstream.log" '^listening on http://' 20 "$UP_PID" | sed 's/^listening on //')
# No device/apps headers: their base64 depends on the emulator's data, not on the request.
write_config '{"intune":{"save_device_properties":false,"save_installed_apps":false}}'
start_gateway

python3 - "$GW_PORT" "$PKI" "$T/rec/received.raw" <<'PY' || fail "smuggling table"
import re, socket, ssl, sys, time
port, pki, raw_path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
ctx = ssl.create_default_context(cafile=pki + "/server-ca.crt")
ctx.load_cert_chain(pki + "/device-compliant.crt", pki + "/device-compliant.key")

H = "Host: app.example\r\n"
C = "Connection: close\r\n"
# What the gateway adds for the compliant device, in this order, after the client's own headers.
GW = ("X-Intune-Device-Id: 3f2504e0-4f89-41d3-9a0c-0305e82c3301\r\nX-Intune-Outcome: Compliant\r\n"
      "X-Intune-Compliance-State: compliant\r\nX-Request-Id: <id>\r\nX-Auth-Level: 2\r\n"
      "X-Forwarded-For: 127.0.0.1\r\nX-Forwarded-Proto: https\r\n")
SMUGGLED = "GET /smuggled HTTP/1.1\r\n" + H + "X-Intune-Device-Id: 3f2504e0-4f89-41d3-9a0c-0305e82c3399\r\nX-Intune-Outcome: Compliant\r\n\r\n"
def chunk(s): return "%x\r\n%s\r\n" % (len(s), s)

# (name, client bytes, statuses the client must get in order, bytes the upstream must get)
cases = [
  ("plain GET", "GET /plain?x=1 HTTP/1.1\r\n" + H + "Accept: */*\r\n" + C + "\r\n", [200],
   "GET /plain?x=1 HTTP/1.1\r\n" + H + "Accept: */*\r\n" + GW + "\r\n"),
  ("POST with Content-Length", "POST /cl HTTP/1.1\r\n" + H + "Content-Length: 5\r\n" + C + "\r\nhello", [200],
   "POST /cl HTTP/1.1\r\n" + H + "Content-Length: 5\r\n" + GW + "\r\nhello"),
  ("POST with Content-Length: 0", "POST /cl0 HTTP/1.1\r\n" + H + "Content-Length: 0\r\n" + C + "\r\n", [200],
   "POST /cl0 HTTP/1.1\r\n" + H + "Content-Length: 0\r\n" + GW + "\r\n"),
  ("chunked POST", "POST /chunked HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n" + C + "\r\n5\r\nhello\r\n0\r\n\r\n", [200],
   "POST /chunked HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n" + GW + "\r\n5\r\nhello\r\n0\r\n\r\n"),
  # 1: two Transfer-Encoding fields (parser frames by the last, serialiser by the first).
  ("TE identity + TE chunked", "POST /te2 HTTP/1.1\r\n" + H + "Transfer-Encoding: identity\r\nTransfer-Encoding: chunked\r\n" + C +
   "\r\n" + chunk(SMUGGLED) + "0\r\n\r\n", [400], ""),
  ("TE chunked twice", "POST /te2 HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n" + C +
   "\r\n" + chunk(SMUGGLED) + "0\r\n\r\n", [400], ""),
  ("TE chunked, chunked", "POST /te2 HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked, chunked\r\n" + C + "\r\n0\r\n\r\n", [400], ""),
  ("TE gzip, chunked", "POST /te2 HTTP/1.1\r\n" + H + "Transfer-Encoding: gzip, chunked\r\n" + C + "\r\n0\r\n\r\n", [400], ""),
  ("TE identity", "POST /te HTTP/1.1\r\n" + H + "Transfer-Encoding: identity\r\n" + C + "\r\nabc", [400], ""),
  ("TE in HTTP/1.0", "POST /te10 HTTP/1.0\r\n" + H + "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", [400], ""),
  ("CL + TE", "POST /clte HTTP/1.1\r\n" + H + "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n" + C + "\r\n0\r\n\r\n" + SMUGGLED, [400], ""),
  ("TE + CL", "POST /tecl HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\nContent-Length: 4\r\n" + C + "\r\n0\r\n\r\n", [400], ""),
  ("CL twice", "POST /cl2 HTTP/1.1\r\n" + H + "Content-Length: 5\r\nContent-Length: 5\r\n" + C + "\r\nhello", [400], ""),
  ("CL list", "POST /cl2 HTTP/1.1\r\n" + H + "Content-Length: 5, 5\r\n" + C + "\r\nhello", [400], ""),
  ("bad chunk size", "POST /x HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n" + C + "\r\nzz\r\nabc\r\n0\r\n\r\n", [400], ""),
  # obs-fold: passed on unfolded (RFC 9112 5.2 lets a proxy replace it with a space).
  ("obs-fold", "GET /fold HTTP/1.1\r\n" + H + "X-Fold: a\r\n b\r\n" + C + "\r\n", [200],
   "GET /fold HTTP/1.1\r\n" + H + "X-Fold: a b\r\n" + GW + "\r\n"),
  ("CR in a value", "GET /cr HTTP/1.1\r\n" + H + "X-A: a\rX-Intune-Outcome: Compliant\r\n" + C + "\r\n", [400], ""),
  ("pipelined", "GET /p1 HTTP/1.1\r\n" + H + "\r\nGET /p2 HTTP/1.1\r\n" + H + C + "\r\n", [200, 200],
   "GET /p1 HTTP/1.1\r\n" + H + GW + "\r\nGET /p2 HTTP/1.1\r\n" + H + GW + "\r\n"),
  ("oversized header", "GET /big HTTP/1.1\r\n" + H + "X-Big: " + "a" * 9000 + "\r\n" + C + "\r\n", [431], ""),
  # 2: trailer fields must never become header fields.
  ("trailers only", "POST /trailer HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\nTrailer: X-Intune-Outcome\r\n" + C +
   "\r\n0\r\nX-Intune-Outcome: Forged\r\nX-Intune-Device-Id: 3f2504e0-4f89-41d3-9a0c-0305e82c3399\r\n"
   "X-Forwarded-For: 6.6.6.6\r\nHost: evil.example\r\nX-Auth-Level: 9\r\n\r\n", [200],
   "POST /trailer HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n" + GW + "\r\n0\r\n\r\n"),
  ("body and trailers", "POST /trailer2 HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n" + C +
   "\r\n5\r\nhello\r\n0\r\nX-Intune-Outcome: Forged\r\n\r\n", [200],
   "POST /trailer2 HTTP/1.1\r\n" + H + "Transfer-Encoding: chunked\r\n" + GW + "\r\n5\r\nhello\r\n0\r\n\r\n"),
  # 6: underscore variants of the gateway's names.
  ("underscore variants", "GET /under HTTP/1.1\r\n" + H + "X_Intune_Device_Id: 3f2504e0-4f89-41d3-9a0c-0305e82c3399\r\n"
   "X-Intune_Outcome: Compliant\r\nX_Auth_Level: 9\r\nX_Forwarded_For: 6.6.6.6\r\nX_Request_Id: mine\r\nX_Other: kept\r\n" + C + "\r\n", [200],
   "GET /under HTTP/1.1\r\n" + H + "X_Other: kept\r\n" + GW + "\r\n"),
  ("spoofed gateway headers", "GET /spoof HTTP/1.1\r\n" + H + "X-Intune-Outcome: Compliant\r\nX-Request-Id: mine\r\n"
   "Forwarded: for=6.6.6.6\r\nX-Forwarded-Proto: http\r\n" + C + "\r\n", [200],
   "GET /spoof HTTP/1.1\r\n" + H + GW + "\r\n"),
  # 8: Host and request-target.
  ("Connection: Host", "GET /connhost HTTP/1.1\r\n" + H + "Connection: close, Host, X-Forwarded-For\r\n\r\n", [200],
   "GET /connhost HTTP/1.1\r\n" + H + GW + "\r\n"),
  ("Connection lists names, any case", "GET /connlist HTTP/1.1\r\n" + H + "Connection: close, x-b, X-a, X-C\r\n"
   "Connection: x-e, X-f, x-G\r\nX-A: 1\r\nx-c: 2\r\nX-B: 3\r\nX-E: 4\r\nx-f: 5\r\nX-g: 6\r\nX-D: kept\r\n\r\n", [200],
   "GET /connlist HTTP/1.1\r\n" + H + "X-D: kept\r\n" + GW + "\r\n"),
  ("no Host", "GET /nohost HTTP/1.1\r\n" + C + "\r\n", [400], ""),
  ("no Host, HTTP/1.0", "GET /nohost HTTP/1.0\r\n\r\n", [400], ""),
  ("two Hosts", "GET /twohosts HTTP/1.1\r\n" + H + "Host: evil.example\r\n" + C + "\r\n", [400], ""),
  ("absolute-form", "GET http://app.example/abs?q=1 HTTP/1.1\r\n" + H + C + "\r\n", [200],
   "GET /abs?q=1 HTTP/1.1\r\n" + H + GW + "\r\n"),
  ("absolute-form, other authority", "GET http://evil.example/abs HTTP/1.1\r\n" + H + C + "\r\n", [400], ""),
  ("CONNECT", "CONNECT app.example:443 HTTP/1.1\r\n" + H + C + "\r\n", [400], ""),
  ("OPTIONS *", "OPTIONS * HTTP/1.1\r\n" + H + C + "\r\n", [200], "OPTIONS * HTTP/1.1\r\n" + H + GW + "\r\n"),
  ("GET *", "GET * HTTP/1.1\r\n" + H + C + "\r\n", [400], ""),
  ("HTTP/1.0 with Host", "GET /old HTTP/1.0\r\n" + H + "\r\n", [200], "GET /old HTTP/1.1\r\n" + H + GW + "\r\n"),
]

def received():
    with open(raw_path, "rb") as f: return f.read()

def exchange(data):
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="localhost")
    s.settimeout(10)
    s.sendall(data)
    out = b""
    try:
        while True:
            b = s.recv(65536)
            if not b: break
            out += b
    except (socket.timeout, ssl.SSLError, ConnectionResetError):
        pass
    s.close()
    return out

failures = 0
for name, request, statuses, expected in cases:
    before = len(received())
    reply = exchange(request.encode("latin-1"))
    got_statuses = [int(m) for m in re.findall(rb"^HTTP/1\.[01] (\d{3})", reply, re.M)]
    # The upstream answered before the gateway did; a request smuggled along would have been in
    # the same write. A short pause still lets stray bytes land before they are compared.
    want = (expected or "").encode("latin-1")
    deadline = time.time() + 5
    while len(received()) - before < len(want) and time.time() < deadline: time.sleep(0.05)
    time.sleep(0.2)
    got = re.sub(rb"X-Request-Id: [0-9a-f]{32}\r\n", b"X-Request-Id: <id>\r\n", received()[before:])
    problems = []
    if got_statuses != statuses: problems.append(f"client got statuses {got_statuses}, want {statuses}")
    if got != want: problems.append(f"upstream got\n    {got!r}\n  want\n    {want!r}")
    if problems:
        failures += 1
        print(f"FAIL: {name}: " + "; ".join(problems))
    else:
        print(f"ok: {name}")
sys.exit(1 if failures else 0)
PY

# 7: a request the upstream may have acted on is never sent twice. The upstream reads the request
# on a reused (pooled) connection and drops it unanswered: a POST (even with no body) gets 502 and
# reached the upstream once; a GET is retried on a fresh connection.
# A pooled connection the upstream closed after answering: the next GET, sent on it without a
# check, finds it closed before any answer and goes out again on a new connection; the next POST
# is not sent on it at all (checked first, as every request that cannot be sent twice). Both 200.
python3 - "$GW_PORT" "$PKI" <<'PY' || fail "replay on a dead upstream connection"
import socket, ssl, sys, time
port, pki = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=pki + "/server-ca.crt")
ctx.load_cert_chain(pki + "/device-compliant.crt", pki + "/device-compliant.key")
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="localhost")
s.settimeout(10)
def response():
    data = b""
    while b"\r\n\r\n" not in data: data += s.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int([l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0])
    while len(body) < length: body += s.recv(65536)
    return head.split(b"\r\n")[0]
for method, path in (("GET", "/warm"), ("POST", "/die-post"), ("GET", "/warm2"), ("GET", "/die-get"),
                     ("GET", "/close-after-1"), ("GET", "/after-close-get"), ("GET", "/close-after-2"),
                     ("POST", "/after-close-post")):
    if path == "/after-close-post":
        time.sleep(0.5)  # the upstream's FIN has reached the gateway: its check must see the close
    s.sendall(f"{method} {path} HTTP/1.1\r\nHost: app.example\r\n\r\n".encode())
    status = response()
    want = b"HTTP/1.1 502" if path.startswith("/die") else b"HTTP/1.1 200"
    assert status.startswith(want), f"{path}: {status!r}"
    print(f"ok: {method} {path}: {status.decode()}")
    if status.startswith(b"HTTP/1.1 502"):  # the gateway closes after its own error
        s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="localhost")
        s.settimeout(10)
PY
# A response with two Transfer-Encoding fields is not relayed (the client could frame it otherwise).
expect_eq "upstream response with two Transfer-Encoding fields: 502" \
  "$(gw_curl compliant -o /dev/null -w '%{http_code}' "$GW/two-te")" 502
expect_eq "a POST dropped by the upstream reached it once" "$(grep -c '"target": "/die-post"' "$T/upstream.log")" 1
expect_eq "a GET dropped on a reused connection is retried once" "$(grep -c '"target": "/die-get"' "$T/upstream.log")" 2
expect_eq "a GET on a pooled connection the upstream closed reached it once" \
  "$(grep -c '"target": "/after-close-get"' "$T/upstream.log")" 1
expect_eq "a POST after the upstream closed the pooled connection reached it once" \
  "$(grep -c '"target": "/after-close-post"' "$T/upstream.log")" 1
echo "PASS $TEST_NAME"
