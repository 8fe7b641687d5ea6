# Helpers for the plugin-mode tests (the authorization endpoint and the real proxies in front of
# it). Source after lib.sh.

# start_authz_gateway [config JSON]: PKI, emulator, upstream, a plugin-only gateway (listen null)
# with its endpoint on AUTHZ_PORT and its admin listener on ADMIN_PORT; sets AUTHZ (http origin)
# and ADMIN.
start_authz_gateway() {
  make_pki
  start_emulator
  start_upstream
  AUTHZ_PORT=$(free_port); ADMIN_PORT=$(free_port)
  run_authz_gateway "${1:-{\}}"
}

# run_authz_gateway [config JSON]: (re)starts only the gateway of start_authz_gateway, on the same
# ports, with this config; the log of a gateway it stops is kept as gate-N.log.
run_authz_gateway() {
  if [ -n "${GW_PID:-}" ] && kill -0 "$GW_PID" 2>/dev/null; then
    kill "$GW_PID"; wait "$GW_PID" 2>/dev/null || true
    mv "$T/gate.log" "$T/gate-$(ls "$T" | grep -c '^gate-').log"
  fi
  local extra
  extra=$(python3 - "$AUTHZ_PORT" "$ADMIN_PORT" "$PKI" "${1:-{\}}" <<'PY'
import json, sys
port, admin, pki, extra = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], json.loads(sys.argv[4])
cfg = {"listen": None,
       "intune": {"client_secret": {"env": "INTUNE_CLIENT_SECRET"}},
       "tls": {"crl": pki + "/device-ca.crl"},
       "admin": {"address": "127.0.0.1", "port": admin},
       "authz": {"address": "127.0.0.1", "port": port, "trusted_peers": ["127.0.0.1/32", "::1/128"]}}
for k, v in extra.items():
    if isinstance(v, dict) and isinstance(cfg.get(k), dict): cfg[k].update(v)
    else: cfg[k] = v
print(json.dumps(cfg))
PY
)
  write_config "$extra"
  export INTUNE_CLIENT_SECRET='demo-s3cret+/=&~ x'
  : >"$T/gate.log"
  "$BIN/intune-gate" --config "$T/gate.json" >"$T/gate.log" 2>&1 &
  PIDS+=($!); GW_PID=$!
  wait_for_line "$T/gate.log" '"msg":"authz listening"' 20 "$GW_PID" >/dev/null
  AUTHZ=http://127.0.0.1:$AUTHZ_PORT
  ADMIN=http://127.0.0.1:$ADMIN_PORT
}

# cert_header FORM DEVICE: the device certificate as a proxy sends it (python prints the value).
#   rfc9440 | der (HAProxy, Caddy) | chain (Traefik: leaf,CA) | escaped (nginx) | spaces | xfcc (Envoy)
cert_header() {
  python3 - "$1" "$PKI/device-$2.crt" "$PKI/device-ca.crt" <<'PY'
import base64, re, ssl, sys, urllib.parse
form, leaf, ca = sys.argv[1:4]
pem = open(leaf).read()
der = ssl.PEM_cert_to_DER_cert(pem)
b64 = base64.b64encode(der).decode()
ca_b64 = base64.b64encode(ssl.PEM_cert_to_DER_cert(open(ca).read())).decode()
if form == "rfc9440": v = ":" + b64 + ":"
elif form == "der": v = b64
elif form == "chain": v = b64 + "," + ca_b64
elif form == "escaped": v = urllib.parse.quote(pem, safe="-._~")
elif form == "spaces": v = pem.strip().replace("\n", " ")
elif form == "xfcc":
    v = ('By=spiffe://cluster.local/ns/edge/sa/envoy;Hash=0000;Cert="' + urllib.parse.quote(pem, safe="-._~") +
         '";Subject="CN=x,O=a;b";URI=spiffe://client')
else: raise SystemExit("unknown form " + form)
print(v)
PY
}

# authz_check OUT_PREFIX [curl args...]: a check against the endpoint; writes OUT_PREFIX.head/.body,
# prints the status.
authz_check() {
  local out=$1; shift
  curl -sS --max-time 20 -o "$out.body" -D "$out.head" -w '%{http_code}' "$@"
}

# header_of FILE NAME: a response header's value from a curl -D dump ("" when absent).
header_of() {
  python3 - "$1" "$2" <<'PY'
import sys
name = sys.argv[2].lower()
for line in open(sys.argv[1], encoding="latin-1").read().splitlines():
    if ":" in line and line.split(":", 1)[0].strip().lower() == name:
        print(line.split(":", 1)[1].strip()); break
PY
}

# has_header FILE NAME: true when the header is in the dump (even empty).
has_header() { grep -qi "^$2:" "$1"; }

# metric NAME_WITH_LABELS: its value from /metrics.
metric() {
  curl -sS --max-time 10 "$ADMIN/metrics" | awk -v m="$1" '$1 == m { print $2 }'
}

# start_nginx: nginx from the Debian package as this test's own process, on NGX_PORT, with the
# shipped conf/plugin/nginx.conf pointed at this test's PKI, gateway and upstream (pid, logs and
# temp files in $T/nginx). Sets NGX (https origin).
start_nginx() {
  NGX_PORT=$(free_port)
  mkdir -p "$T/nginx/logs"
  python3 - "$TOP/conf/plugin/nginx.conf" "$T/nginx/nginx.conf" "$T/nginx" "$PKI" "$NGX_PORT" "$AUTHZ_PORT" "${UP#http://}" <<'PY'
import os, sys
src, out, prefix, pki, port, authz, up = sys.argv[1:8]
text = open(src).read()
def sub(old, new):
    global text
    assert old in text, "conf/plugin/nginx.conf no longer contains: " + old
    text = text.replace(old, new)
sub("pid /run/nginx-intune-gate.pid;", "pid %s/nginx.pid;" % prefix)
sub("error_log /var/log/nginx/intune-gate-error.log warn;", "error_log %s/logs/error.log info;" % prefix)
sub("access_log /var/log/nginx/intune-gate-access.log;",
    "access_log %s/logs/access.log;\n" % prefix +
    "".join("    %s_temp_path %s/%s;\n" % (t, prefix, t) for t in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")))
sub("listen 443 ssl;", "listen 127.0.0.1:%s ssl;" % port)
sub("/etc/nginx/tls/server.crt", pki + "/server.crt")
sub("/etc/nginx/tls/server.key", pki + "/server.key")
sub("/etc/nginx/tls/device-ca.crt", pki + "/device-ca.crt")
sub("server 127.0.0.1:9191;", "server 127.0.0.1:%s;" % authz)
sub("proxy_pass http://127.0.0.1:8080;", "proxy_pass http://%s;" % up)
if os.getuid() == 0:  # the workers would drop to "nobody", who cannot read the test's files
    text = "user root;\n" + text
open(out, "w").write(text)
PY
  nginx -t -q -c "$T/nginx/nginx.conf" -p "$T/nginx/" -g 'daemon off;' >"$T/nginx-t.log" 2>&1 \
    || fail "nginx -t: $(cat "$T/nginx-t.log")"
  nginx -c "$T/nginx/nginx.conf" -p "$T/nginx/" -g 'daemon off;' >"$T/nginx.log" 2>&1 &
  PIDS+=($!); NGX_PID=$!
  NGX=https://localhost:$NGX_PORT
  wait_for_port "$NGX_PORT" "$NGX_PID"
}

# wait_for_port PORT PID: until something accepts on 127.0.0.1:PORT (the process must stay up).
wait_for_port() {
  local i=0
  while [ $i -lt $((200 * ${IG_WAIT_FACTOR:-1})) ]; do
    python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$1" 2>/dev/null && return 0
    kill -0 "$2" 2>/dev/null || fail "process $2 exited before listening on $1"
    sleep 0.1; i=$((i + 1))
  done
  fail "nothing listening on port $1"
}

# start_caddy: Caddy from the Debian package as this test's own process on CADDY_PORT, with the
# shipped conf/plugin/Caddyfile pointed at this test's PKI, gateway and upstream (admin API off,
# no autosave, HOME and XDG folders in $T). Sets CADDY (https origin).
start_caddy() {
  CADDY_PORT=$(free_port)
  mkdir -p "$T/caddy"
  python3 - "$TOP/conf/plugin/Caddyfile" "$T/caddy/Caddyfile" "$PKI" "$CADDY_PORT" "$AUTHZ_PORT" "${UP#http://}" <<'PY'
import sys
src, out, pki, port, authz, up = sys.argv[1:7]
text = open(src).read()
def sub(old, new):
    global text
    assert old in text, "conf/plugin/Caddyfile no longer contains: " + old
    text = text.replace(old, new)
sub("https://app.example.com:443", "https://localhost:%s" % port)
sub("/etc/caddy/tls/server.crt", pki + "/server.crt")
sub("/etc/caddy/tls/server.key", pki + "/server.key")
sub("/etc/caddy/tls/device-ca.crt", pki + "/device-ca.crt")
sub("forward_auth 127.0.0.1:9191", "forward_auth 127.0.0.1:%s" % authz)
sub("reverse_proxy 127.0.0.1:8080", "reverse_proxy %s" % up)
open(out, "w").write(text)
PY
  HOME="$T/caddy" XDG_DATA_HOME="$T/caddy/data" XDG_CONFIG_HOME="$T/caddy/config" \
    caddy run --config "$T/caddy/Caddyfile" --adapter caddyfile >"$T/caddy.log" 2>&1 &
  PIDS+=($!); CADDY_PID=$!
  CADDY=https://localhost:$CADDY_PORT
  wait_for_port "$CADDY_PORT" "$CADDY_PID"
}

# proxy_curl ORIGIN DEVICE [curl args]: an mTLS client through a proxy with device-DEVICE's
# certificate ("" = none); the proxies use the test PKI's server certificate.
proxy_curl() {
  local origin=$1 device=$2; shift 2
  local cert=()
  [ -z "$device" ] || cert=(--cert "$PKI/device-$device.crt" --key "$PKI/device-$device.key")
  # The server certificate names localhost; SNI needs a name, not an address.
  local port=${origin##*:}
  curl -sS --max-time 20 --resolve "localhost:$port:127.0.0.1" --cacert "$PKI/server-ca.crt" "${cert[@]}" "$@"
}

# Outcomes for the proxy tests: a reject (403), a redirect (303, with the way back) and a forward
# each have a device.
PROXY_OUTCOMES='{"outcomes": {
  "NotCompliant": {"action": "reject", "status": 403},
  "StatusUnknown": {"action": "redirect", "status": 303,
                    "location": "https://portal.manage.microsoft.com/?back={return_url}"}}}'

# through_proxy NAME ORIGIN: the journeys every tested proxy must get right, with a real mTLS
# client (curl and a device certificate) through the proxy to the sample upstream.
through_proxy() {
  local name=$1 origin=$2 before after status
  # Compliant: through, with the device facts; the client's own X-Intune-Outcome never arrives,
  # nor any other name the gateway owns (read from the code's list, issue 26 #5).
  local forged=() n
  for n in $(sed -n 's/.*_header = "\(X-Intune-[^"]*\)";/\1/p' "$TOP/core/text/header_names.hpp"); do
    [ "$n" = X-Intune-Outcome ] || forged+=(-H "$n: forged")
  done
  [ ${#forged[@]} -ge 16 ] || fail "could not read the header names from core/text/header_names.hpp"
  before=$(upstream_hits)
  status=$(proxy_curl "$origin" compliant -o "$T/p.body" -w '%{http_code}' \
    -H 'X-Intune-Outcome: Compliant-By-Claim' -H 'X-Intune-Device-Id: 00000000-0000-4000-8000-000000000000' \
    "${forged[@]}" "$origin/app/login?x=1") || fail "$name: curl failed"
  expect_eq "$name compliant: status" "$status" 200
  expect_eq "$name compliant: upstream hit" "$(( $(upstream_hits) - before ))" 1
  expect_eq "$name compliant: outcome at the upstream" "$(json_get "$T/p.body" 'h("X-Intune-Outcome")')" Compliant
  expect_eq "$name compliant: device id at the upstream" "$(json_get "$T/p.body" 'h("X-Intune-Device-Id")')" \
    3f2504e0-4f89-41d3-9a0c-0305e82c3301
  expect_eq "$name compliant: state at the upstream" "$(json_get "$T/p.body" 'h("X-Intune-Compliance-State")')" compliant
  expect_eq "$name compliant: outcome header at the upstream" "$(json_get "$T/p.body" 'h("X-Auth-Level")')" 2
  [ -n "$(json_get "$T/p.body" 'h("X-Intune-Device")')" ] || fail "$name compliant: X-Intune-Device missing"
  expect_eq "$name compliant: no client-sent X-Intune-* at the upstream" \
    "$(json_get "$T/p.body" '",".join(k for k, v in d["headers"] if "forged" in v)')" ""
  expect_eq "$name compliant: path kept" "$(json_get "$T/p.body" 'd["target"]')" "/app/login?x=1"

  # Not compliant (configured reject 403): the upstream never sees it.
  before=$(upstream_hits)
  status=$(proxy_curl "$origin" noncompliant -o "$T/p.body" -w '%{http_code}' "$origin/app") || fail "$name: curl failed"
  expect_eq "$name noncompliant: status" "$status" 403
  expect_eq "$name noncompliant: upstream untouched" "$(upstream_hits)" "$before"

  # A redirect outcome: its configured 303 to the portal, with the original URL to come back to.
  status=$(proxy_curl "$origin" unknown -o /dev/null -D "$T/p.head" -w '%{http_code}' "$origin/app?x=1") || fail "$name: curl failed"
  expect_eq "$name redirect: status" "$status" 303
  expect_eq "$name redirect: location" "$(header_of "$T/p.head" Location)" \
    "https://portal.manage.microsoft.com/?back=https%3A%2F%2Flocalhost%3A${origin##*:}%2Fapp%3Fx%3D1"
  expect_eq "$name redirect: upstream untouched" "$(upstream_hits)" "$before"

  # An Error (reject 503 configured) keeps its status.
  status=$(proxy_curl "$origin" error -o /dev/null -w '%{http_code}' "$origin/app") || fail "$name: curl failed"
  expect_eq "$name error: status" "$status" 503
}

# fail_closed NAME ORIGIN: with the gateway gone the proxy refuses; nothing reaches the upstream.
fail_closed() {
  local name=$1 origin=$2 before status
  kill -TERM "$GW_PID"; wait "$GW_PID" 2>/dev/null || true
  before=$(upstream_hits)
  status=$(proxy_curl "$origin" compliant -o /dev/null -w '%{http_code}' "$origin/app") || true
  case "$status" in 2*|3*) fail "$name with the gateway down answered $status";; esac
  expect_eq "$name gateway down: upstream untouched" "$(upstream_hits)" "$before"
  ok "$name fails closed ($status)"
}

# start_haproxy: HAProxy from the Debian package as this test's own process (foreground, -db) on
# HAP_PORT, with the shipped conf/plugin/haproxy.cfg and intune-gate.lua pointed at this test's PKI,
# gateway and upstream. Sets HAP (https origin).
start_haproxy() {
  HAP_PORT=$(free_port)
  mkdir -p "$T/haproxy"
  cat "$PKI/server.crt" "$PKI/server.key" >"$T/haproxy/server.pem"
  python3 - "$TOP/conf/plugin" "$T/haproxy/haproxy.cfg" "$T/haproxy" "$PKI" "$HAP_PORT" "$AUTHZ_PORT" "${UP#http://}" <<'PY'
import sys
src, out, prefix, pki, port, authz, up = sys.argv[1:8]
text = open(src + "/haproxy.cfg").read()
def sub(old, new):
    global text
    assert old in text, "conf/plugin/haproxy.cfg no longer contains: " + old
    text = text.replace(old, new)
sub("lua-load /etc/haproxy/intune-gate.lua", "lua-load %s/intune-gate.lua" % src)
sub("bind :443 ssl crt /etc/haproxy/tls/server.pem ca-file /etc/haproxy/tls/device-ca.crt",
    "bind 127.0.0.1:%s ssl crt %s/server.pem ca-file %s/device-ca.crt" % (port, prefix, pki))
sub("http://127.0.0.1:9191/authz", "http://127.0.0.1:%s/authz" % authz)
sub("server app1 127.0.0.1:8080", "server app1 %s" % up)
open(out, "w").write(text)
PY
  haproxy -c -q -f "$T/haproxy/haproxy.cfg" >"$T/haproxy-c.log" 2>&1 || fail "haproxy -c: $(cat "$T/haproxy-c.log")"
  haproxy -db -f "$T/haproxy/haproxy.cfg" >"$T/haproxy.log" 2>&1 &
  PIDS+=($!); HAP_PID=$!
  HAP=https://localhost:$HAP_PORT
  wait_for_port "$HAP_PORT" "$HAP_PID"
}
