#!/usr/bin/env bash
# The endurance run (docs/performance.md, "Endurance"): N minutes of mixed load against one gateway
# with a shared cache on its own redis-server, while the Graph emulator flips device states and
# fails in phases, Redis is restarted and the config is reloaded every 15 s (every other reload
# invalid). bench/soak.py drives the load and checks every answer; this script starts and stops
# the processes (tests/e2e/lib.sh's helpers) and checks the exit and the log.
#
#   nice -n 5 bash bench/soak.sh [MINUTES]      # default 10 (or SOAK_MINUTES)
#   SOAK_SECONDS=60 bash bench/soak.sh           # what tests/e2e/test_soak.sh runs
#   SOAK_BUILD=/path/to/build SOAK_OUT=file.json  # build folder (default build/), where the summary goes
#
# Everything listens on 127.0.0.1 on free ports; all it started is stopped on exit (KEEP=1 keeps
# the temp folder). Exit status 0 when every check passed.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
minutes=${1:-${SOAK_MINUTES:-10}}
SECONDS_TO_RUN=${SOAK_SECONDS:-$((minutes * 60))}
OUT=${SOAK_OUT:-$ROOT/.cache/soak/summary.json}
# shellcheck source=../tests/e2e/lib.sh
source "$ROOT/tests/e2e/lib.sh" "${SOAK_BUILD:-$ROOT/build}"
command -v redis-server >/dev/null || fail "redis-server is not installed (scripts/build.sh installs it)"
command -v nginx >/dev/null || fail "nginx is not installed (scripts/build.sh installs it)"
export IG_E2E_CLIENT_SECRET='demo-s3cret+/=&~ x'

# Redis is restarted by soak.py, so it runs daemonized with a pid file; stopped here on exit.
soak_cleanup() {
  local status=$?
  local redis_pid
  if [ -f "$T/redis.pid" ]; then
    redis_pid=$(cat "$T/redis.pid")
    kill "$redis_pid" 2>/dev/null || true
    # It logs its shutdown into $T: wait, or removing $T races with that write.
    for _ in $(seq 50); do kill -0 "$redis_pid" 2>/dev/null || break; sleep 0.1; done
  fi
  (exit $status)
  cleanup
}
trap soak_cleanup EXIT

make_pki
start_emulator
EMU_PORT=${EMU##*:}

# The upstream: nginx answering 200 with what the gateway told it (outcome, stale marker), so a
# forwarded answer can be checked; no access log.
UP_PORT=$(free_port)
mkdir -p "$T/nginx"
cat >"$T/upstream.conf" <<EOF
daemon off;
worker_processes 1;
pid $T/nginx/upstream.pid;
error_log $T/upstream-error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $T/nginx/body;
    proxy_temp_path $T/nginx/proxy;
    fastcgi_temp_path $T/nginx/fastcgi;
    uwsgi_temp_path $T/nginx/uwsgi;
    scgi_temp_path $T/nginx/scgi;
    keepalive_requests 100000000;
    server {
        listen 127.0.0.1:$UP_PORT;
        location / {
            default_type text/plain;
            return 200 "outcome=\$http_x_intune_outcome stale=\$http_x_intune_stale device=\$http_x_intune_device_id\n";
        }
    }
}
EOF
nginx -p "$T/nginx" -c "$T/upstream.conf" -e "$T/upstream-error.log" &
PIDS+=($!)
UP=http://127.0.0.1:$UP_PORT
wait_until 20 "the upstream answers" curl -sf --max-time 2 "$UP/"

REDIS_PORT=$(free_port)
REDIS_START="redis-server --port $REDIS_PORT --bind 127.0.0.1 --save '' --appendonly no --daemonize yes --pidfile $T/redis.pid --logfile $T/redis.log"
eval "$REDIS_START"
wait_until 20 "redis answers" redis-cli -p "$REDIS_PORT" ping

ADMIN_PORT=$(free_port)
AUTHZ_PORT=$(free_port)
write_config "$(cat <<EOF
{"workers": 2,
 "tls": {"client_certificate": "required", "session_cache": 500},
 "intune": {"client_secret": {"env": "IG_E2E_CLIENT_SECRET"}, "timeout_ms": 3000,
            "cache": {"compliant_ttl_s": 8, "other_ttl_s": 4, "max_entries": 5000},
            "save_device_properties": false, "device_properties": [], "save_installed_apps": false,
            "shared_cache": {"redis": "redis://127.0.0.1:$REDIS_PORT", "timeout_ms": 500},
            "stale_if_error_s": 30},
 "limits": {"idle_timeout_s": 10, "max_connections": 1000},
 "admin": {"address": "127.0.0.1", "port": $ADMIN_PORT},
 "authz": {"address": "127.0.0.1", "port": $AUTHZ_PORT, "trusted_peers": ["127.0.0.1/32"]}}
EOF
)"
"$BIN/intune-gate" --check-config "$T/gate.json" >/dev/null || fail "the soak's config is refused"

# The gateway, its access lines left out of the log (hundreds of thousands of them; every answer is
# checked by soak.py instead).
"$BIN/intune-gate" --config "$T/gate.json" > >(grep --line-buffered -v '"type":"access"' >"$T/gate.log" 2>&1) 2>&1 &
GW_PID=$!
PIDS+=($GW_PID)
wait_for_line "$T/gate.log" '"msg":"listening"' 20 "$GW_PID" >/dev/null
wait_until 20 "the shared cache is connected" grep -q 'shared cache connected' "$T/gate.log"

echo "soak: ${SECONDS_TO_RUN}s against intune-gate (pid $GW_PID), emulator :$EMU_PORT, redis :$REDIS_PORT"
rc=0
python3 "$ROOT/bench/soak.py" --pki "$PKI" --workdir "$T" --config "$T/gate.json" --gate-log "$T/gate.log" \
  --redis-start "$REDIS_START" --gate-port "$GW_PORT" --authz-port "$AUTHZ_PORT" --admin-port "$ADMIN_PORT" \
  --emu-port "$EMU_PORT" --redis-port "$REDIS_PORT" --gate-pid "$GW_PID" --upstream-port "$UP_PORT" --seconds "$SECONDS_TO_RUN" \
  >"$T/summary.json" || rc=$?
mkdir -p "$(dirname "$OUT")"
tail -n 1 "$T/summary.json" >"$OUT"
python3 - "$OUT" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
print("soak: %.0f s, %d answers checked, %d devices, %d flips, reloads %s, Redis restarts %d, fault phases %s" % (
    s["seconds"], s["answers_checked"], s["devices"], s["flips"], s["reloads"], s["redis_restarts"], s["fault_phases"]))
print("requests by kind: " + ", ".join("%s %d (%.0f/s)" % (k, v, v / s["seconds"]) for k, v in s["requests"].items()))
print("outcomes: %s; stale %d; Error during faults %d; handshakes %d (%d resumed); transport errors %s" % (
    s["outcomes"], s["stale_answers"], s["errors_during_faults"], s["handshakes"], s["resumed"], s["transport_errors"]))
print("| t (s) | answers | RSS (MiB) | open fds | Graph conns | upstream conns | Redis conns |")
print("|---:|---:|---:|---:|---:|---:|---:|")
rows = [dict(s["baseline"], t="before", answers=0)] + s["samples"] + \
       [dict(s[k], t=k.replace("_", " "), answers=s["answers_checked"]) for k in ("end_load", "quiet") if s.get(k)]
for r in rows:
    print("| %s | %s | %.1f | %d | %d | %d | %d |" % (r["t"], r.get("answers", ""), r["rss_kb"] / 1024, r["fds"],
                                                 r["graph_conns"], r["upstream_conns"], r["redis_conns"]))
print("RSS growth after the warm-up: %s %%" % s["rss_growth_pct"])
print("descriptors before the load: %s" % s["baseline_fds"])
print("descriptors after it: %s" % s["quiet_fds"])
print("log warnings and errors: %s" % s["log_warnings"])
for w in s["wrong"][:10]: print("WRONG: %s" % w)
for p in s["log_problems"][:10]: print("LOG: %s" % p)
for f in s["failures"]: print("FAILED CHECK: %s" % f)
PY
[ "$rc" = 0 ] || fail "the soak's checks failed (summary in $OUT)"
expect_gateway_alive
stop_gateway_and_check_log
ok "soak of ${SECONDS_TO_RUN}s passed (summary in $OUT)"
