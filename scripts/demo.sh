#!/usr/bin/env bash
# The demo command: installs what is missing, builds, makes the demo PKI into demo-pki/, checks
# conf/demo.json, then starts the Graph emulator (9443), the sample upstream (8080) and the gateway
# (8443, admin 9901) and walks every demo device certificate through it with `openssl s_client`,
# printing one line per device: device, outcome, status. Everything is stopped at the end.
#   IG_BUILD_DIR=DIR  use binaries from DIR/bin (default build/)   IG_SKIP_BUILD=1  do not build
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
build=${IG_BUILD_DIR:-build}
bin=$build/bin

if [ "${IG_SKIP_BUILD:-0}" != 1 ]; then
  echo "== build"
  bash scripts/build.sh
fi

echo "== demo PKI in demo-pki/"
bash certs/make-pki.sh demo-pki

echo "== check conf/demo.json"
"$bin/intune-gate" --check-config conf/demo.json

for port in 8443 9443 8080 9901; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "demo: port $port is already in use on 127.0.0.1; stop what uses it and try again" >&2
    exit 1
  fi
done

logs=$(mktemp -d "${TMPDIR:-/tmp}/intune-gate-demo.XXXXXX")
pids=()
stop_all() {
  local status=$?
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [ $status -eq 0 ]; then rm -rf "$logs"; else echo "demo: logs kept in $logs" >&2; fi
}
trap stop_all EXIT

# wait_for FILE REGEX PID
wait_for() {
  for _ in $(seq 100); do
    grep -qE "$2" "$1" 2>/dev/null && return 0
    kill -0 "$3" 2>/dev/null || { echo "demo: $(basename "$1" .log) exited:" >&2; tail -n 5 "$1" >&2; exit 1; }
    sleep 0.1
  done
  echo "demo: $(basename "$1" .log) did not start; its log:" >&2; tail -n 5 "$1" >&2; exit 1
}

echo "== start the Graph emulator, the sample upstream and the gateway"
"$bin/intune-graph-emulator" --devices conf/emulator-devices.json --cert demo-pki/server.crt \
  --key demo-pki/server.key --port 9443 >"$logs/emulator.log" 2>&1 &
pids+=($!); wait_for "$logs/emulator.log" '^listening on' $!
"$bin/intune-sample-upstream" --port 8080 >"$logs/upstream.log" 2>&1 &
pids+=($!); wait_for "$logs/upstream.log" '^listening on' $!
"$bin/intune-gate" --config conf/demo.json >"$logs/gateway.log" 2>&1 &
gw=$!; pids+=($gw); wait_for "$logs/gateway.log" '"msg":"listening"' $gw

# walk DEVICE: one GET through openssl s_client with that device's certificate ("" = none); prints
# the outcome and status from the gateway's access log line for the request.
walk() {
  local device=$1 cert=() before out
  [ -z "$device" ] || cert=(-cert "demo-pki/device-$device.crt" -key "demo-pki/device-$device.key")
  before=$(grep -c '"type":"access"' "$logs/gateway.log" || true)
  out=$(printf 'GET /demo HTTP/1.1\r\nHost: 127.0.0.1:8443\r\nConnection: close\r\n\r\n' |
        timeout 10 openssl s_client -connect 127.0.0.1:8443 -servername localhost -CAfile demo-pki/server-ca.crt \
          "${cert[@]}" -quiet -verify_return_error 2>&1 || true)
  for _ in $(seq 30); do
    [ "$(grep -c '"type":"access"' "$logs/gateway.log" || true)" -gt "$before" ] && break
    sleep 0.1
  done
  local line
  line=$(grep '"type":"access"' "$logs/gateway.log" | tail -n +"$((before + 1))" | head -n 1)
  if [ -z "$line" ]; then
    local why
    why=$(grep -oiE 'alert [a-z ]+' <<<"$out" | head -n 1)
    printf '%-16s %-14s %s\n' "${device:-(none)}" "-" "refused at the TLS handshake (${why:-no answer})"
    return
  fi
  python3 -c '
import json, sys
r = json.loads(sys.argv[2])
extra = {"forward": "forwarded, upstream " + str(r.get("upstream_status")), "reject": "rejected", "redirect": "redirected"}.get(r.get("action"), "")
print("%-16s %-14s %s %s" % (sys.argv[1], r.get("outcome") or "-", r.get("status"), extra))' "${device:-(none)}" "$line"
}

echo "== walk the demo devices through https://127.0.0.1:8443"
printf '%-16s %-14s %s\n' DEVICE OUTCOME STATUS
for device in compliant noncompliant ingraceperiod configmanager conflict unknown error notfound newstate \
              noid cn-only not-guid crlf other-ca expired revoked ""; do
  [ -z "$device" ] || [ -f "demo-pki/device-$device.crt" ] || continue
  walk "$device"
done

echo "== stop"
