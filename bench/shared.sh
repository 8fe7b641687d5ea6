#!/usr/bin/env bash
# Shared state bench (docs/shared-state.md), not part of the test suite:
#  1. requests/s and p99 when a verdict comes from the local cache, and when every request misses
#     locally (cache.max_entries 0) and is answered from Redis;
#  2. a 100,000-device tenant (the emulator's synthetic devices) and 1, 2, 4 instances on one Redis,
#     with and without the bulk sync, and with the sync plus the changes sync (sync "changes"; and 4
#     instances without Redis for reference): Graph calls in a simulated hour, sync duration and
#     pages; with the changes sync also the time from a device turning non-compliant in Intune to
#     every instance answering NotCompliant.
#
#   bash bench/shared.sh              # both parts
#   SHARED_PARTS=sim bash bench/shared.sh
#
# The hour is compressed SIM_FACTOR times (default 30: an hour in 120 s): TTLs, the sync interval
# and the login period are divided by it. SIM_SAMPLE devices (default 500) of the tenant log in,
# each every SIM_LOGIN_S (default 300) seconds of simulated time through a random instance; their
# Graph device calls are scaled to the whole tenant; the sync always reads all SIM_DEVICES.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BENCH_BUILD:-$ROOT/build}
BIN=$BUILD/bin
PARTS=${SHARED_PARTS:-path sim}
DURATION=${BENCH_DURATION:-10}
CONNECTIONS=${BENCH_CONNECTIONS:-10}   # load generators (one connection and one device each)
DEVICES=${SIM_DEVICES:-100000}
SAMPLE=${SIM_SAMPLE:-500}
FACTOR=${SIM_FACTOR:-30}
LOGIN_S=${SIM_LOGIN_S:-300}
COMPLIANT_TTL=${SIM_COMPLIANT_TTL_S:-300}
OTHER_TTL=${SIM_OTHER_TTL_S:-30}
SYNC_S=${SIM_SYNC_INTERVAL_S:-240}
CHANGES_S=${SIM_CHANGES_INTERVAL_S:-120}
SCENARIOS=${SIM_SCENARIOS:-"1:redis:nosync 2:redis:nosync 4:redis:nosync 4:none:nosync 1:redis:sync 2:redis:sync 4:redis:sync"}
OUT=${BENCH_OUT:-$ROOT/.cache/bench/shared.md}
export BENCH_INTUNE_CLIENT_SECRET='demo-s3cret+/=&~ x'

for b in intune-gate intune-graph-emulator intune-sample-upstream intune-loadgen; do
  [ -x "$BIN/$b" ] || { echo "bench: build first ($BIN/$b missing)" >&2; exit 1; }
done
command -v redis-server >/dev/null || { echo "bench: redis-server missing" >&2; exit 1; }

RUN=$(mktemp -d /tmp/ig-shared-bench.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$RUN"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_line() { for _ in $(seq 300); do grep -qE "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done; echo "bench: no /$2/ in $1" >&2; tail "$1" >&2; exit 1; }
PKI=$RUN/pki
bash "$ROOT/certs/make-pki.sh" "$PKI" >/dev/null

start_emulator() {  # start_emulator SYNTHETIC
  "$BIN/intune-graph-emulator" --devices "$ROOT/conf/emulator-devices.json" --cert "$PKI/server.crt" \
    --key "$PKI/server.key" --port 0 --synthetic-devices "$1" >"$RUN/emu.log" 2>&1 & PIDS+=($!)
  wait_line "$RUN/emu.log" '^listening on'
  EMU=$(sed -n 's/^listening on //p' "$RUN/emu.log")
}
emu() { curl -sS --cacert "$PKI/server-ca.crt" -X "$1" "$EMU$2"; }
start_upstream() {
  "$BIN/intune-sample-upstream" --port 0 >"$RUN/up.log" 2>&1 & PIDS+=($!)
  wait_line "$RUN/up.log" '^listening on'
  UP=$(sed -n 's/^listening on //p' "$RUN/up.log")
}
start_redis() {
  REDIS_PORT=$(free_port)
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize no >"$RUN/redis.log" 2>&1 &
  REDIS_PID=$!; PIDS+=($REDIS_PID)
  wait_line "$RUN/redis.log" 'Ready to accept connections'
}
# gateway NAME JSON-OVERRIDES: prints nothing; sets GW_<NAME>, ADM_<NAME>, PID_<NAME>
gateway() {
  local name=$1 port admin; port=$(free_port); admin=$(free_port)
  python3 - "$RUN/$name.json" "$PKI" "$EMU" "$UP" "$port" "$admin" "$2" <<'PY'
import json, sys
out, pki, emu, up, port, admin, extra = sys.argv[1:8]
c = {"listen": {"address": "127.0.0.1", "port": int(port)}, "workers": 1,
     "tls": {"certificate": pki + "/server.crt", "private_key": pki + "/server.key",
             "client_ca": pki + "/device-ca.crt", "client_certificate": "optional"},
     "device_id": {"sources": ["header", "san_uri"], "trusted_peers": ["127.0.0.1/32"]},
     "intune": {"tenant_id": "11111111-2222-4333-8444-555555555555",
                "client_id": "66666666-7777-4888-8999-000000000000",
                "client_secret": {"env": "BENCH_INTUNE_CLIENT_SECRET"},
                "login_url": emu, "graph_url": emu, "ca_file": pki + "/server-ca.crt", "timeout_ms": 5000,
                "cache": {"compliant_ttl_s": 300, "other_ttl_s": 30, "max_entries": 200000}},
     "upstream": {"url": up},
     "limits": {"max_connections": 20000, "idle_timeout_s": 600},
     "admin": {"address": "127.0.0.1", "port": int(admin)}}
def merge(a, b):
    for k, v in b.items():
        if isinstance(v, dict) and isinstance(a.get(k), dict): merge(a[k], v)
        else: a[k] = v
merge(c, json.loads(extra))
json.dump(c, open(out, "w"))
PY
  "$BIN/intune-gate" --config "$RUN/$name.json" >"$RUN/$name.log" 2>&1 & local pid=$!; PIDS+=($pid)
  wait_line "$RUN/$name.log" '"msg":"listening"'
  printf -v "GW_$name" '%s' "https://127.0.0.1:$port"
  printf -v "ADM_$name" '%s' "http://127.0.0.1:$admin"
  printf -v "PID_$name" '%s' "$pid"
}
metric() { curl -sS "$1/metrics" | awk -v k="$2" '$1 == k { print $2 }'; }
# flip_to_answer ORIGIN...: a compliant synced device checks in non-compliant (the emulator stamps its
# lastSyncDateTime); the seconds until every instance answers it NotCompliant, into FLIPS.
FLIPS=""
flip_to_answer() {
  local id start t; id=$(printf '5e000000-0000-4000-8000-%012x' 1)
  curl -sS -o /dev/null --cacert "$PKI/server-ca.crt" -X PUT -H 'Content-Type: application/json' \
    --data '{"complianceState":"noncompliant","managementAgent":"mdm"}' "$EMU/_emulator/devices/$id"
  start=$(date +%s.%N)
  local seen=yes code
  for o in "$@"; do
    # NotCompliant is whatever the config does with it (a reject or a redirect), never a forward;
    # 000 and 5xx are failures, not the new verdict.
    for i in $(seq 601); do
      [ "$i" = 601 ] && { seen=no; break; }
      code=$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$PKI/server-ca.crt" -H "X-Intune-Device-Id: $id" "$o/")
      case $code in 200|000|5*) sleep 0.1 ;; *) break ;; esac
    done
  done
  t=$(python3 -c "import time; print(round(time.time() - $start, 1))")
  [ "$seen" = yes ] || t="not seen within ${t}"
  FLIPS+="$n instances: ${t}s with changes_interval_s $((CHANGES_S / FACTOR)); "
  curl -sS -o /dev/null --cacert "$PKI/server-ca.crt" -X PUT -H 'Content-Type: application/json' \
    --data '{"complianceState":"compliant","managementAgent":"mdm","lastSyncDateTime":"2026-01-01T00:00:00Z"}' "$EMU/_emulator/devices/$id"
}
mkdir -p "$(dirname "$OUT")"
: >"$OUT"
log() { echo "$*" | tee -a "$OUT"; }
log "# bench/shared.sh, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"

if [[ " $PARTS " == *" path "* ]]; then
  start_emulator 1000; start_upstream; start_redis
  gateway local '{}'
  gateway shared "{\"intune\": {\"cache\": {\"max_entries\": 0}, \"shared_cache\": {\"redis\": \"redis://127.0.0.1:$REDIS_PORT\", \"timeout_ms\": 50}}}"
  wait_line "$RUN/shared.log" '"msg":"shared cache connected"'
  log ""
  log "## Verdict from the local cache vs. from Redis (cache.max_entries 0: every request misses locally)"
  log ""
  log "$CONNECTIONS load generators side by side, one keep-alive connection and one device each (so no two"
  log "requests of one device are in flight together and each Redis path request does its own GET), ${DURATION}s."
  log "requests/s summed; p50 the median and p99 the highest of the generators'."
  log ""
  log "| path | requests/s | p50 µs | p99 µs | Graph device calls during the run | Redis hits |"
  log "|---|---|---|---|---|---|"
  for round in 1 2; do
  for name in local shared; do
    gw=GW_$name; adm=ADM_$name
    for k in $(seq "$CONNECTIONS"); do  # warm: every device once (Graph, then Redis)
      curl -sS -o /dev/null --cacert "$PKI/server-ca.crt" -H "X-Intune-Device-Id: $(printf '5e000000-0000-4000-8000-%012x' "$((k * 10))")" "${!gw}/"
    done
    sleep 0.5
    emu POST /_emulator/reset >/dev/null
    hits0=$(metric "${!adm}" 'intune_gate_shared_cache_lookups_total{result="hit"}')
    lg=()
    for k in $(seq "$CONNECTIONS"); do
      "$BIN/intune-loadgen" --url "${!gw}/" --cacert "$PKI/server-ca.crt" --cert "$PKI/device-compliant.crt" \
        --key "$PKI/device-compliant.key" --mode keepalive --connections 1 --duration "$DURATION" --warmup 1 \
        --header "X-Intune-Device-Id: $(printf '5e000000-0000-4000-8000-%012x' "$((k * 10))")" --label "$name-$k" \
        >"$RUN/load-$name-$k.txt" 2>&1 & lg+=($!)
    done
    for p in "${lg[@]}"; do wait "$p" || { cat "$RUN"/load-$name-*.txt >&2; exit 1; }; done
    hits1=$(metric "${!adm}" 'intune_gate_shared_cache_lookups_total{result="hit"}')
    calls=$(emu GET /_emulator/stats | python3 -c 'import json,sys; print(sum(json.load(sys.stdin)["device_requests"].values()))')
    agg=$(cat "$RUN"/load-$name-*.txt | grep '^{' | python3 -c '
import json, statistics, sys
rows = [json.loads(l) for l in sys.stdin]
print(round(sum(r["rps"] for r in rows)), "|", int(statistics.median(r["p50_us"] for r in rows)), "|", max(r["p99_us"] for r in rows))')
    log "| $([ $name = local ] && echo 'local cache hit' || echo 'local miss, Redis hit') (round $round) | $agg | $calls | $((hits1 - hits0)) |"
  done
  done
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; PIDS=()
fi

if [[ " $PARTS " == *" sim "* ]]; then
  sim_len=$((3600 / FACTOR))
  log ""
  log "## $DEVICES-device tenant, one simulated hour in ${sim_len}s (x$FACTOR)"
  log ""
  log "Every one of $SAMPLE sampled devices logs in every ${LOGIN_S}s (+-20%) through a random instance;"
  log "compliant_ttl_s $COMPLIANT_TTL, other_ttl_s $OTHER_TTL, sync interval ${SYNC_S}s, changes interval ${CHANGES_S}s (sync \"changes\"), page_size 1000 (times divided by $FACTOR)."
  log "Device calls are scaled by $DEVICES/$SAMPLE to the tenant; list pages are counted as they are."
  log ""
  log "With a sync the hour starts after the first full sync has finished (its time and pages: start-up sync)."
  log ""
  log "| instances | Redis | sync | start-up sync | logins (sample) | failed | device calls (sample) | list pages | Graph calls/hour, whole tenant | syncs run | last sync duration s (pages, devices) |"
  log "|---|---|---|---|---|---|---|---|---|---|---|"
  start_emulator "$DEVICES"; start_upstream
  for sc in $SCENARIOS; do
    IFS=: read -r n shared sync <<<"$sc"
    start_redis
    extra="{\"intune\": {\"cache\": {\"compliant_ttl_s\": $((COMPLIANT_TTL / FACTOR)), \"other_ttl_s\": $(( (OTHER_TTL + FACTOR - 1) / FACTOR ))}"
    [ "$shared" = redis ] && extra+=", \"shared_cache\": {\"redis\": \"redis://127.0.0.1:$REDIS_PORT\", \"timeout_ms\": 50}"
    [ "$sync" = sync ] && extra+=", \"sync\": {\"interval_s\": $((SYNC_S / FACTOR)), \"page_size\": 1000}"
    [ "$sync" = changes ] && extra+=", \"sync\": {\"interval_s\": $((SYNC_S / FACTOR)), \"page_size\": 1000, \"changes_interval_s\": $((CHANGES_S / FACTOR))}"
    extra+="}}"
    emu POST /_emulator/reset >/dev/null
    origins=(); names=()
    for i in $(seq "$n"); do gateway "i$i" "$extra"; g=GW_i$i; origins+=("${!g}"); names+=("i$i"); done
    warm="-"
    if [ "$sync" != nosync ]; then
      # The hour is a steady one: it starts once the first full sync (on whichever instance took
      # the lease) has written every device's verdict. That start-up sync is reported apart.
      t0=$(date +%s.%N); done_runs=0
      for _ in $(seq 1200); do
        done_runs=0
        for nm in "${names[@]}"; do a=ADM_$nm; r=$(metric "${!a}" 'intune_gate_sync_runs_total{result="ok"}'); done_runs=$((done_runs + ${r:-0})); done
        [ "$done_runs" -ge 1 ] && break
        sleep 0.5
      done
      [ "$done_runs" -ge 1 ] || { echo "bench: no full sync finished" >&2; exit 1; }
      warm="$(python3 -c "import time; print(round(time.time() - $t0, 1))") s, $(emu GET /_emulator/stats | python3 -c 'import json,sys; print(json.load(sys.stdin).get("list_requests", 0))') pages"
      emu POST /_emulator/reset >/dev/null
    fi
    res=$(python3 "$ROOT/bench/shared_sim.py" "$(IFS=,; echo "${origins[*]}")" "$PKI/server-ca.crt" "$SAMPLE" \
          "$(python3 -c "print($LOGIN_S / $FACTOR)")" "$sim_len" "$DEVICES")
    stats=$(emu GET /_emulator/stats)
    dev_calls=$(echo "$stats" | python3 -c 'import json,sys; print(sum(json.load(sys.stdin)["device_requests"].values()))')
    pages=$(echo "$stats" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("list_requests", 0))')
    runs=0; dur=""; 
    for nm in "${names[@]}"; do
      a=ADM_$nm
      r=$(metric "${!a}" 'intune_gate_sync_runs_total{result="ok"}'); runs=$((runs + ${r:-0}))
      d=$(metric "${!a}" intune_gate_sync_last_duration_seconds)
      if [ -n "$d" ] && [ "$d" != 0 ]; then dur="$d ($(metric "${!a}" intune_gate_sync_last_pages), $(metric "${!a}" intune_gate_sync_last_devices))"; fi
    done
    per_hour=$(python3 -c "print(round($dev_calls * $DEVICES / $SAMPLE + $pages))")
    [ "$sync" = changes ] && flip_to_answer "${origins[@]}"
    log "| $n | $shared | $sync | $warm | $(echo "$res" | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"])') | $(echo "$res" | python3 -c 'import json,sys; d=json.load(sys.stdin)["failed"]; print(sum(d.values()))') | $dev_calls | $pages | $per_hour | $runs | ${dur:--} |"
    for nm in "${names[@]}"; do p=PID_$nm; kill "${!p}" 2>/dev/null || true; wait "${!p}" 2>/dev/null || true; done
    kill "$REDIS_PID" 2>/dev/null || true; wait "$REDIS_PID" 2>/dev/null || true
  done
  [ -z "$FLIPS" ] || { log ""; log "Flip to NotCompliant on every instance (changes sync): $FLIPS"; }
fi
echo "written to $OUT" >&2
