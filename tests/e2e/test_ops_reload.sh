#!/usr/bin/env bash
# e2e (operations): SIGHUP reload.
#  1. a reload that changes an outcome's action takes effect for new connections, and a keep-alive
#     connection opened before it is not dropped;
#  2. broken configs (not JSON; an unknown key) are refused with JSON error lines, the old one keeps serving;
#  3. a server certificate rotated on disk is served after SIGHUP; a certificate without its key is refused.
source "$(dirname "$0")/lib.sh"

ADMIN_PORT=$(free_port)
ADMIN=http://127.0.0.1:$ADMIN_PORT
export INTUNE_CLIENT_SECRET='demo-s3cret+/=&~ x'
config() {  # config NOTCOMPLIANT_ACTION_JSON
  write_config "{\"admin\": {\"address\": \"127.0.0.1\", \"port\": $ADMIN_PORT}, \"workers\": 1,
                 \"limits\": {\"idle_timeout_s\": 60},
                 \"intune\": {\"client_secret\": {\"env\": \"INTUNE_CLIENT_SECRET\"}}}"
  # replaced whole, not merged key by key as write_config does
  python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); c["outcomes"]["NotCompliant"]=json.loads(sys.argv[2]); json.dump(c,open(sys.argv[1],"w"),indent=1)' \
    "$T/gate.json" "$1"
}
make_pki
start_emulator
start_upstream
config '{"action": "redirect", "location": "https://portal.example/enroll"}'
start_gateway

status() { gw_curl "$1" -o /dev/null -w '%{http_code}' "$GW/" 2>/dev/null || true; }
count() { grep -c -- "$1" "$T/gate.log" || true; }
# sighup_expect PATTERN: SIGHUP, then wait until one more log line matches PATTERN.
sighup_expect() {
  local before i
  before=$(count "$1")
  kill -HUP "$GW_PID"
  for i in $(seq 100); do [ "$(count "$1")" -gt "$before" ] && return 0; sleep 0.1; done
  fail "no new '$1' line after SIGHUP"
}
expect_eq "NotCompliant before the reload" "$(status noncompliant)" 302

# --- 1. an action change, with a keep-alive connection held across the reload -------------------
config '{"action": "reject", "status": 403}'
python3 - "$GW_PORT" "$PKI" "$GW_PID" "$T/gate.log" <<'PY' || fail "keep-alive connection across SIGHUP"
import http.client, os, signal, ssl, sys, time
port, pki, pid, log = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
ctx = ssl.create_default_context(cafile=f"{pki}/server-ca.crt")
ctx.load_cert_chain(f"{pki}/device-noncompliant.crt", f"{pki}/device-noncompliant.key")
def get(conn):
    conn.request("GET", "/held")
    r = conn.getresponse()
    r.read()
    return r.status
held = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
assert get(held) == 302
sock = held.sock
assert sock is not None, "the gateway closed the keep-alive connection"
name = sock.getsockname()
reloads = open(log).read().count("config reloaded")
os.kill(pid, signal.SIGHUP)
deadline = time.time() + 10
while open(log).read().count("config reloaded") == reloads:
    assert time.time() < deadline, "no 'config reloaded' log line"
    time.sleep(0.05)
status = get(held)  # answered on the same, still open connection (old or new action)
assert held.sock is sock and sock.getsockname() == name, "the connection was replaced"
assert status in (302, 403), status
fresh = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
assert get(fresh) == 403, "the new action does not apply to a new connection"
assert get(held) in (302, 403) and held.sock is sock
print(f"ok: held connection answered {status} after the reload; a new connection 403")
PY
ok "reload changed NotCompliant to reject; the held keep-alive connection stayed open"

# --- 2. broken configs are refused; the old one keeps serving ------------------------------------
cp "$T/gate.json" "$T/gate.json.good"
echo '{ "listen": { "address": "127.0.0.1", ' >"$T/gate.json"  # not JSON
sighup_expect 'reload refused'
expect_eq "NotCompliant after a reload of broken JSON" "$(status noncompliant)" 403
expect_eq "Compliant after a reload of broken JSON" "$(status compliant)" 200
config '{"action": "redirect", "location": "https://portal.example/x"}'
python3 - "$T/gate.json" <<'PY'
import json, sys
cfg = json.load(open(sys.argv[1])); cfg["wrokers"] = 2  # an unknown key (a typo) is an error
json.dump(cfg, open(sys.argv[1], "w"))
PY
sighup_expect 'reload refused'
expect_eq "NotCompliant after a reload with an unknown key" "$(status noncompliant)" 403
kill -0 "$GW_PID" || fail "the gateway died on a broken reload"
python3 - "$T/gate.log" <<'PY' || fail "reload error lines"
import json, sys
refused = [json.loads(l) for l in open(sys.argv[1]) if "reload refused" in l]
assert len(refused) >= 2, refused  # one line per problem
assert all(r.get("level") == "error" and r.get("error") for r in refused), refused
assert "wrokers" in refused[-1]["error"], "the error does not name the unknown key: " + json.dumps(refused[-1])
PY
expect_eq "reload failures metric" "$(curl -s "$ADMIN/metrics" | awk '$1 == "intune_gate_config_reload_failures_total" { print $2 }')" 2
cp "$T/gate.json.good" "$T/gate.json"
ok "broken reloads refused with JSON error lines; the old config kept serving"

# --- 3. certificate rotation ---------------------------------------------------------------------
served() {  # sha256 of the certificate the gateway serves to a new connection
  python3 - "$GW_PORT" "$PKI" <<'PY'
import hashlib, socket, ssl, sys
port, pki = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=f"{pki}/server-ca.crt")
ctx.load_cert_chain(f"{pki}/device-compliant.crt", f"{pki}/device-compliant.key")
with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, ctx.wrap_socket(raw, server_hostname="localhost") as s:
    print(hashlib.sha256(s.getpeercert(binary_form=True)).hexdigest())
PY
}
fingerprint() { openssl x509 -in "$1" -outform DER | sha256sum | cut -d' ' -f1; }
OLD=$(fingerprint "$PKI/server.crt")
expect_eq "served certificate before rotation" "$(served)" "$OLD"
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -addext "extendedKeyUsage=serverAuth" \
  -CA "$PKI/server-ca.crt" -CAkey "$PKI/server-ca.key" -days 30 \
  -keyout "$T/new.key" -out "$T/new.crt" >/dev/null 2>&1 || fail "cannot make the new server certificate"
NEW=$(fingerprint "$T/new.crt")
cp "$T/new.crt" "$PKI/server.crt"  # the certificate first, without its key: refused
sighup_expect 'reload refused'
expect_eq "served certificate after a half-done rotation" "$(served)" "$OLD"
cp "$T/new.key" "$PKI/server.key"
sighup_expect 'config reloaded'
expect_eq "served certificate after rotation and SIGHUP" "$(served)" "$NEW"
expect_eq "request with the rotated certificate" "$(status compliant)" 200

stop_gateway_and_check_log
