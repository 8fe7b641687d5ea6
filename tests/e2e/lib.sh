# Shared helpers for the end-to-end tests: source it from tests/e2e/test_*.sh, which CTest runs as
# `bash test_x.sh BUILD_DIR`. Each test gets its own temp folder, its own emulator, upstream and
# gateway on free ports, and everything is stopped on exit. KEEP=1 keeps the temp folder.
set -euo pipefail

[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
BUILD=$(cd "$1" && pwd)
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=$BUILD/bin
T=$(mktemp -d "${TMPDIR:-/tmp}/ig-e2e.XXXXXX")
PKI=$T/pki
PIDS=()
TEST_NAME=$(basename "$0" .sh)
FAILED=0

for b in intune-gate intune-graph-emulator intune-sample-upstream; do
  [ -x "$BIN/$b" ] || { echo "FAIL: $BIN/$b is not built" >&2; exit 1; }
done

cleanup() {
  local status=$?
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  # Bounded: a process that ignores SIGTERM for 15 s is killed, so the test ends either way.
  local i=0
  for p in "${PIDS[@]}"; do
    while kill -0 "$p" 2>/dev/null && [ $i -lt 150 ]; do sleep 0.1; i=$((i + 1)); done
    if kill -0 "$p" 2>/dev/null; then
      echo "---- pid $p ($(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | cut -c1-80)) ignored SIGTERM; killed" >&2
      kill -KILL "$p" 2>/dev/null || true
    fi
    wait "$p" 2>/dev/null || true
  done
  if [ $status -ne 0 ] || [ $FAILED -ne 0 ]; then
    for log in "$T"/*.log; do
      [ -f "$log" ] || continue
      echo "---- last lines of $(basename "$log")" >&2
      tail -n 25 "$log" >&2
    done
  fi
  if [ "${KEEP:-0}" = 1 ]; then echo "kept $T" >&2; else rm -rf "$T"; fi
  exit $status
}
trap cleanup EXIT

fail() { FAILED=1; echo "FAIL [$TEST_NAME]: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }

# expect_eq WHAT ACTUAL EXPECTED
expect_eq() { [ "$2" = "$3" ] || fail "$1: expected '$3', got '$2'"; ok "$1"; }

make_pki() { bash "$TOP/certs/make-pki.sh" "$PKI" >/dev/null; }

# wait_for_line FILE REGEX [SECONDS] [PID]: waits until the regex shows up in FILE; prints the line.
# With PID, gives up as soon as that process is gone.
wait_for_line() {
  local file=$1 re=$2 limit=$(( ${3:-20} * ${IG_WAIT_FACTOR:-1} * 10 )) pid=${4:-} i=0
  while [ $i -lt $limit ]; do
    if grep -m1 -E "$re" "$file" 2>/dev/null; then return 0; fi
    [ -z "$pid" ] || kill -0 "$pid" 2>/dev/null || fail "$(basename "$file" .log) exited: $(tail -n 3 "$file")"
    sleep 0.1; i=$((i + 1))
  done
  fail "timed out waiting for /$re/ in $(basename "$file")"
}

start_emulator() {
  python3 - "$TOP/conf/emulator-devices.json" "$T/devices.json" "$PKI" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
for tenant in doc.get("tenants", {}).values():
    for client in tenant.get("clients", {}).values():
        if "certificate" in client:
            client["certificate"] = sys.argv[3] + "/intune-app.crt"
json.dump(doc, open(sys.argv[2], "w"), indent=1)
PY
  # EMU_ARGS: extra emulator options, e.g. "--synthetic-devices 200".
  "$BIN/intune-graph-emulator" --devices "$T/devices.json" --cert "$PKI/server.crt" --key "$PKI/server.key" \
    --port 0 ${EMU_ARGS:-} >"$T/emulator.log" 2>&1 &
  PIDS+=($!); EMU_PID=$!
  EMU=$(wait_for_line "$T/emulator.log" '^listening on https://' 20 "$EMU_PID" | sed 's/^listening on //')
}

start_upstream() {
  "$BIN/intune-sample-upstream" --port 0 >"$T/upstream.log" 2>&1 &
  PIDS+=($!); UP_PID=$!
  UP=$(wait_for_line "$T/upstream.log" '^listening on http://' 20 "$UP_PID" | sed 's/^listening on //')
}

# write_config [JSON merged over the defaults, objects merged key by key, an outcome replaced whole];
# picks GW_PORT once.
write_config() {
  GW_PORT=${GW_PORT:-$(free_port)}
  python3 - "$T/gate.json" "$PKI" "${EMU:-https://127.0.0.1:9}" "${UP:-http://127.0.0.1:9}" "${1:-{\}}" "$GW_PORT" <<'PY'
import json, sys
out, pki, emu, up, extra, port = sys.argv[1:7]
cfg = {
  "listen": {"address": "127.0.0.1", "port": int(port)},
  "workers": 2,
  "tls": {"certificate": pki + "/server.crt", "private_key": pki + "/server.key",
          "client_ca": pki + "/device-ca.crt", "client_certificate": "optional", "min_version": "1.2"},
  "device_id": {"sources": ["san_uri", "subject_cn"], "san_uri_scheme": "IntuneDeviceId",
                "header": "X-Intune-Device-Id", "trusted_peers": []},
  "intune": {"tenant_id": "11111111-2222-4333-8444-555555555555",
             "client_id": "66666666-7777-4888-8999-000000000000",
             "auth": "client_secret", "client_secret": "demo-s3cret+/=&~ x",
             "login_url": emu, "graph_url": emu, "ca_file": pki + "/server-ca.crt", "timeout_ms": 2000,
             "cache": {"compliant_ttl_s": 60, "other_ttl_s": 10, "max_entries": 1000},
             "device_not_found": "NotCompliant", "save_device_properties": True,
             "device_properties": ["id", "deviceName", "complianceState", "operatingSystem", "osVersion", "userPrincipalName"],
             "save_installed_apps": True},
  "upstream": {"url": up, "ca_file": None, "timeout_ms": 3000},
  "outcomes": {
    "Compliant": {"action": "forward", "headers": {"X-Auth-Level": "2"}},
    "InGracePeriod": {"action": "forward", "headers": {"X-Auth-Level": "1"}},
    "ConfigManager": {"action": "forward", "headers": {"X-Auth-Level": "1", "X-Managed-By": "configmgr"}},
    "NotCompliant": {"action": "redirect", "location": "https://portal.manage.microsoft.com/"},
    "Conflict": {"action": "reject", "status": 409},
    "NoId": {"action": "reject", "status": 401},
    "StatusUnknown": {"action": "reject", "status": 403},
    "Error": {"action": "reject", "status": 503}},
  "limits": {"max_header_bytes": 8192, "max_body_bytes": 4194304, "handshake_timeout_s": 5,
             "idle_timeout_s": 10, "max_connections": 100},
  "admin": None,
}
def merge(a, b, depth=0):
    for k, v in b.items():
        # an outcome given replaces the default one as a whole
        if isinstance(v, dict) and isinstance(a.get(k), dict) and not (depth == 1 and "action" in v): merge(a[k], v, depth + 1)
        else: a[k] = v
merge(cfg, json.loads(extra))
json.dump(cfg, open(out, "w"), indent=1)
PY
}

# stop_gateway_and_check_log: SIGTERM, exit status 0, every log line JSON, no client secret in it.
stop_gateway_and_check_log() {
  kill -TERM "$GW_PID"
  wait_for_exit "$GW_PID" 30 "the gateway after SIGTERM"
  local rc=0; wait "$GW_PID" || rc=$?
  expect_eq "exit status after SIGTERM" "$rc" 0
  python3 -c '
import json, sys
for l in open(sys.argv[1]): json.loads(l)' "$T/gate.log" || fail "a log line is not JSON"
  if grep -qF 'demo-s3cret' "$T/gate.log"; then fail "the client secret is in the log"; fi
  ok "log lines JSON, no secret"
}

# wait_for_exit PID SECONDS WHAT: a process that does not exit in time is a failure, not a hang of
# the test: its threads' stacks go to stderr (gdb, when installed), then it is killed.
wait_for_exit() {
  local pid=$1 limit=$(( $2 * ${IG_WAIT_FACTOR:-1} * 10 )) i=0
  while kill -0 "$pid" 2>/dev/null && [ $i -lt $limit ]; do sleep 0.1; i=$((i + 1)); done
  kill -0 "$pid" 2>/dev/null || return 0
  if command -v gdb >/dev/null; then
    echo "---- $3 has not exited after $2 s; its threads:" >&2
    timeout 60 gdb -p "$pid" -batch -ex 'thread apply all bt' 2>/dev/null | grep -E '^(Thread|#)' >&2 || true
  fi
  kill -KILL "$pid" 2>/dev/null || true
  fail "$3 did not exit within $2 s"
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start_gateway: runs intune-gate on $T/gate.json (listen port: $GW_PORT); sets GW (https origin).
start_gateway() {
  # IG_GATE_WRAPPER (e.g. "valgrind --error-exitcode=99") runs the gateway under a tool.
  # Empty the log first: the background redirect may truncate it only after wait_for_line has
  # seen the previous gateway's "listening" line.
  : >"$T/gate.log"
  ${IG_GATE_WRAPPER:-} "$BIN/intune-gate" --config "$T/gate.json" >"$T/gate.log" 2>&1 &
  PIDS+=($!); GW_PID=$!
  wait_for_line "$T/gate.log" '"msg":"listening"' 20 "$GW_PID" >/dev/null
  GW=https://127.0.0.1:$GW_PORT
}

# start_all [config JSON]: PKI, emulator, upstream, config, gateway.
start_all() {
  make_pki
  start_emulator
  start_upstream
  write_config "${1:-{\}}"
  start_gateway
}

# gw_curl DEVICE [curl args]: curl to the gateway with device-DEVICE's certificate ("" = none).
gw_curl() {
  local device=$1; shift
  local cert=()
  [ -z "$device" ] || cert=(--cert "$PKI/device-$device.crt" --key "$PKI/device-$device.key")
  curl -sS --max-time 20 --cacert "$PKI/server-ca.crt" "${cert[@]}" "$@"
}

# emu_ctl METHOD PATH [BODY]: the emulator's control API.
emu_ctl() {
  curl -sS --max-time 10 --cacert "$PKI/server-ca.crt" -X "$1" ${3:+-H 'Content-Type: application/json' --data "$3"} "$EMU$2"
}

# upstream_hits: how many requests reached the sample upstream so far.
upstream_hits() { grep -c '^{"request"' "$T/upstream.log" || true; }

# json_get FILE PYTHON_EXPR (with `d` the parsed JSON, `h(name)` a header the upstream received or None)
json_get() {
  python3 - "$1" "$2" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
def h(name):
    vals = [v for k, v in d.get("headers", []) if k.lower() == name.lower()]
    return vals[0] if len(vals) == 1 else (None if not vals else "MULTIPLE:" + "|".join(vals))
r = eval(sys.argv[2])
print("" if r is None else r)
PY
}

# b64url_decode VALUE
b64url_decode() {
  python3 -c 'import base64,sys; s=sys.argv[1]; print(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)).decode())' "$1"
}

# raw_tls DEVICE FILE: sends FILE's bytes as they are over mTLS, prints what came back (until close or 5s).
raw_tls() {
  python3 - "$GW_PORT" "$PKI" "$1" "$2" <<'PY'
import socket, ssl, sys, time
port, pki, device, path = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context(cafile=pki + "/server-ca.crt")
if device:
    ctx.load_cert_chain(pki + "/device-" + device + ".crt", pki + "/device-" + device + ".key")
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="localhost")
s.sendall(open(path, "rb").read())
s.settimeout(5)
out = b""
try:
    while True:
        chunk = s.recv(65536)
        if not chunk: break
        out += chunk
except (socket.timeout, ssl.SSLError, ConnectionResetError):
    pass
sys.stdout.write(out.decode("latin-1"))
PY
}

# raw_tls_chunked DEVICE PATH BYTES: POSTs a chunked body of BYTES zero bytes over mTLS, 64 KiB a
# chunk, and stops sending as soon as the gateway answers (it may refuse before the end); prints the
# answer. Unlike curl, a refusal that closes the connection mid-upload still shows its status line.
raw_tls_chunked() {
  python3 - "$GW_PORT" "$PKI" "$1" "$2" "$3" <<'PY'
import select, socket, ssl, sys
port, pki, device, path, total = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
ctx = ssl.create_default_context(cafile=pki + "/server-ca.crt")
if device:
    ctx.load_cert_chain(pki + "/device-" + device + ".crt", pki + "/device-" + device + ".key")
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="localhost")
s.settimeout(30)
s.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".encode())
chunk = b"10000\r\n" + b"\0" * 65536 + b"\r\n"
def answer_so_far():  # application data already there, without blocking (TLS tickets are not an answer)
    s.setblocking(False)
    try:
        return s.recv(65536)
    except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
        return None
    finally:
        s.settimeout(30)
sent = 0
out = b""
try:
    while sent < total:
        if s.pending() or select.select([s], [], [], 0)[0]:
            got = answer_so_far()
            if got is not None:
                out = got
                break  # the gateway answered (or closed) before the body was complete
        s.sendall(chunk)
        sent += 65536
    else:
        s.sendall(b"0\r\n\r\n")
except (BrokenPipeError, ConnectionResetError, ssl.SSLError, socket.timeout):
    pass
try:
    while b"\r\n\r\n" not in out or len(out) < 12:
        data = s.recv(65536)
        if not data: break
        out += data
except (socket.timeout, ssl.SSLError, ConnectionResetError):
    pass
sys.stdout.write(out.decode("latin-1"))
PY
}

# empty_crl CA OUT: a CRL of that CA revoking nothing.
empty_crl() {
  mkdir -p "$T/db-$1"; : >"$T/db-$1/index.txt"; echo 01 >"$T/db-$1/crlnumber"
  cat >"$T/ca-$1.cnf" <<CNF
[ca]
default_ca = d
[d]
database = $T/db-$1/index.txt
crlnumber = $T/db-$1/crlnumber
certificate = $PKI/$1.crt
private_key = $PKI/$1.key
default_md = sha256
default_crl_days = 30
CNF
  openssl ca -batch -config "$T/ca-$1.cnf" -gencrl -out "$2" 2>"$T/openssl.err" || fail "empty CRL: $(cat "$T/openssl.err")"
}
# admin_metric NAME: a sample's value on $ADMIN/metrics ("absent" when it is not there).
admin_metric() {
  curl -s --max-time 10 "$ADMIN/metrics" | awk -v k="$1" '$1 == k { print $2; found = 1 } END { if (!found) print "absent" }'
}

# wait_for_count FILE REGEX COUNT [SECONDS]: waits until at least COUNT lines of FILE match REGEX.
wait_for_count() {
  local file=$1 re=$2 want=$3 limit=$(( ${4:-20} * ${IG_WAIT_FACTOR:-1} * 10 )) i=0 n=0
  while [ $i -lt $limit ]; do
    n=$(grep -cE "$re" "$file" 2>/dev/null || true)
    [ "${n:-0}" -ge "$want" ] && return 0
    sleep 0.1; i=$((i + 1))
  done
  fail "timed out waiting for $want lines /$re/ in $(basename "$file") (have ${n:-0})"
}

# wait_until SECONDS WHAT COMMAND...: runs COMMAND every 0.1 s until it succeeds; fails after SECONDS.
wait_until() {
  local limit=$(( $1 * ${IG_WAIT_FACTOR:-1} * 10 )) what=$2 i=0
  shift 2
  while [ $i -lt $limit ]; do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.1; i=$((i + 1))
  done
  fail "timed out waiting until $what"
}

# expect_gateway_alive: the gateway process still runs.
expect_gateway_alive() { kill -0 "$GW_PID" 2>/dev/null || fail "the gateway is not running: $(tail -n 3 "$T/gate.log")"; }

# start_emulator_as NAME: one more emulator (same devices) serving TLS with certs/NAME.{crt,key};
# sets EMU_AS (its https origin, as https://localhost:PORT) and EMU_AS_PID. Call start_emulator first.
start_emulator_as() {
  "$BIN/intune-graph-emulator" --devices "$T/devices.json" --cert "$PKI/$1.crt" --key "$PKI/$1.key" \
    --port 0 >"$T/emulator-$1.log" 2>&1 &
  PIDS+=($!); EMU_AS_PID=$!
  EMU_AS=$(wait_for_line "$T/emulator-$1.log" '^listening on https://' 20 "$EMU_AS_PID" | sed 's/^listening on //')
  EMU_AS=https://localhost:${EMU_AS##*:}
}
