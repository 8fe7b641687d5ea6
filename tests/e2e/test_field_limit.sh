#!/usr/bin/env bash
# e2e (hostile clients, issue 26 #2): one header field longer than Beast can hold (65,534 bytes
# and more) with limits.max_header_bytes above it. It used to end the process (std::length_error
# out of the parser); now it is 431 on the front end (no certificate, "optional"), on /authz and
# on the admin listener's read, and 400 in a chunked trailer (over the 8 KiB bound on chunk lines
# and trailers). The gateway keeps serving after each.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_authz.sh"
GW_PORT=$(free_port)
start_authz_gateway "{\"listen\": {\"address\": \"127.0.0.1\", \"port\": $GW_PORT},
                      \"limits\": {\"max_header_bytes\": 131072}}"
wait_for_line "$T/gate.log" '"msg":"listening"' 20 "$GW_PID" >/dev/null
GW=https://127.0.0.1:$GW_PORT

alive() { kill -0 "$GW_PID" 2>/dev/null || fail "the gateway died: $1"; ok "still running after $1"; }
# big N: N bytes of 'a'
big() { head -c "$1" /dev/zero | tr '\0' a; }

# The front end without a certificate: 65,533 is the longest value Beast holds (a NoId reject,
# 401, as configured), one byte more is 431. Same for a name, and for a field among others.
expect_eq "front: 65,533-byte value" "$(gw_curl "" -o /dev/null -w '%{http_code}' -H "X-Big: $(big 65533)" "$GW/")" 401
for n in 65534 65535 65536 100000; do
  expect_eq "front: $n-byte value" "$(gw_curl "" -o /dev/null -w '%{http_code}' -H "X-Big: $(big $n)" "$GW/")" 431
  alive "a $n-byte value on the front end"
done
expect_eq "front: 65,534-byte name" "$(gw_curl "" -o /dev/null -w '%{http_code}' -H "$(big 65534): 1" "$GW/")" 431
expect_eq "front: with a certificate too" \
  "$(gw_curl compliant -o /dev/null -w '%{http_code}' -H "A: 1" -H "X-Big: $(big 65534)" "$GW/")" 431
alive "a long name on the front end"

# A chunked body whose trailer carries such a field (it used to throw out of the relay, whatever
# the header limit): a trailer or chunk line over 8 KiB is 400, whatever the header limit; a
# trailer field that fits is dropped and the request forwarded.
trailer_request() {
  { printf 'POST /trailer HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n'
    printf '5\r\nhello\r\n0\r\nX-Big: %s\r\n\r\n' "$(big "$1")"; } >"$T/trailer.req"
  raw_tls compliant "$T/trailer.req" | head -n 1 | tr -d '\r'
}
expect_eq "front: 65,534-byte trailer field" "$(trailer_request 65534)" "HTTP/1.1 400 Bad Request"
expect_eq "front: 9,000-byte trailer field" "$(trailer_request 9000)" "HTTP/1.1 400 Bad Request"
expect_eq "front: 8,000-byte trailer field, dropped" "$(trailer_request 8000)" "HTTP/1.1 200 OK"
alive "a long trailer field"
# A quoted chunk extension that never ends: 400 once 8 KiB of it are in (Beast would wait for as
# long as bytes came), and the gateway goes on serving.
{ printf 'POST /ext HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n'
  printf '0;q="%s' "$(big 200000)"; } >"$T/ext.req"
expect_eq "front: endless chunk extension" "$(raw_tls compliant "$T/ext.req" | head -n 1 | tr -d '\r')" \
  "HTTP/1.1 400 Bad Request"
alive "an endless chunk extension"

# The authorization endpoint, as Caddy's forward_auth calls it (it copies the client's headers).
expect_eq "/authz: 65,534-byte value" \
  "$(authz_check "$T/r" -H "Client-Cert: $(cert_header der compliant)" -H "X-Big: $(big 65534)" "$AUTHZ/authz")" 431
expect_eq "/authz: 65,534-byte certificate header" "$(authz_check "$T/r" -H "Client-Cert: $(big 65534)" "$AUTHZ/authz")" 431
expect_eq "/authz: nginx dialect, 65,534-byte name" "$(authz_check "$T/r" -H "$(big 65534): 1" "$AUTHZ/authz/nginx")" 431
alive "long fields on /authz"

# The admin listener reads a whole request (body and trailer) before it looks at the token.
python3 - "$ADMIN_PORT" <<'PY' || true
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)
s.sendall(b"POST /devices/x/refresh HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-Big: "
          + b"a" * 65534 + b"\r\n\r\n")
s.settimeout(5)
try: s.recv(100)
except OSError: pass
PY
alive "a long trailer field on the admin listener"

# Still answering normally; a client's own address headers do not reach the upstream (issue 26).
gw_curl compliant -o "$T/up.json" -H "X-Real-IP: 10.9.9.9" -H "True-Client-IP: 10.9.9.9" -H "X_Real_IP: 10.9.9.9" \
  "$GW/" || fail "compliant request"
expect_eq "front: compliant after all that" "$(json_get "$T/up.json" 'd["headers"] and "ok"')" ok
expect_eq "front: no client X-Real-IP/True-Client-IP at the upstream" \
  "$(json_get "$T/up.json" '",".join(k for k, v in d["headers"] if "10.9.9.9" in v)')" ""
expect_eq "/authz: compliant after all that" \
  "$(authz_check "$T/r" -H "Client-Cert: $(cert_header der compliant)" "$AUTHZ/authz")" 200
expect_eq "readyz" "$(curl -sS -o /dev/null -w '%{http_code}' "$ADMIN/readyz")" 200
stop_gateway_and_check_log
