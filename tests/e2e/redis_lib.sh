# Helpers for the shared-state tests (source after lib.sh): a private redis-server on a free port,
# and several gateway instances side by side, each with its own config, log and admin port.

command -v redis-server >/dev/null || { echo "FAIL: redis-server is not installed (scripts/build.sh installs it)" >&2; exit 1; }

# start_redis [PORT]: a throwaway redis-server (no persistence) on a free port (or PORT); sets REDIS_PORT, REDIS_PID.
start_redis() {
  REDIS_PORT=${1:-$(free_port)}
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize no \
    >"$T/redis.log" 2>&1 &
  REDIS_PID=$!; PIDS+=($REDIS_PID)
  wait_for_line "$T/redis.log" "Ready to accept connections" 20 "$REDIS_PID" >/dev/null
}

stop_redis() { kill "$REDIS_PID" 2>/dev/null || true; wait "$REDIS_PID" 2>/dev/null || true; }

rcli() { redis-cli -p "$REDIS_PORT" "$@"; }

export IG_E2E_CLIENT_SECRET='demo-s3cret+/=&~ x'

# start_instance NAME [config JSON]: a gateway from write_config's defaults merged with the JSON;
# sets GW_<NAME> (https origin), ADMIN_<NAME> (admin origin) and PID_<NAME>.
start_instance() {
  local name=$1 extra=${2:-{\}} admin
  GW_PORT=$(free_port); admin=$(free_port)
  write_config "$extra"
  python3 - "$T/gate.json" "$admin" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["admin"] = {"address": "127.0.0.1", "port": int(sys.argv[2])}
c["intune"]["client_secret"] = {"env": "IG_E2E_CLIENT_SECRET"}  # no literal-secret warning on stderr
json.dump(c, open(sys.argv[1], "w"), indent=1)
PY
  mv "$T/gate.json" "$T/gate-$name.json"
  "$BIN/intune-gate" --config "$T/gate-$name.json" >"$T/gate-$name.log" 2>&1 &
  local pid=$!; PIDS+=($pid)
  wait_for_line "$T/gate-$name.log" '"msg":"listening"' 20 "$pid" >/dev/null
  printf -v "GW_$name" '%s' "https://127.0.0.1:$GW_PORT"
  printf -v "ADMIN_$name" '%s' "http://127.0.0.1:$admin"
  printf -v "PID_$name" '%s' "$pid"
}

# A device ID the emulator serves with --synthetic-devices (every tenth, index%10==9, is noncompliant).
syn_id() { printf '5e000000-0000-4000-8000-%012x' "$1"; }

# dev_curl ORIGIN ID [curl args]: a request for device ID, named by the trusted X-Intune-Device-Id header.
dev_curl() {
  local origin=$1 id=$2; shift 2
  curl -sS --max-time 20 --cacert "$PKI/server-ca.crt" -H "X-Intune-Device-Id: $id" "$@" "$origin/login"
}

# device_calls ID: Graph reads of that device since the last emulator reset.
device_calls() {
  emu_ctl GET /_emulator/stats >"$T/stats.json"
  json_get "$T/stats.json" "d['device_requests'].get('$1', 0)"
}
total_device_calls() {
  emu_ctl GET /_emulator/stats >"$T/stats.json"
  json_get "$T/stats.json" "sum(d['device_requests'].values())"
}

# metric ADMIN_ORIGIN 'name{labels}': the sample's value.
metric() { curl -sS --max-time 10 "$1/metrics" | awk -v k="$2" '$1 == k { print $2 }'; }

# Instances read devices from the header (trusted loopback), so any number of devices needs no certificates.
HEADER_IDS='"device_id": {"sources": ["header"], "trusted_peers": ["127.0.0.1/32"]}'
