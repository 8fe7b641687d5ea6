#!/usr/bin/env bash
# The performance bench: intune-gate against nginx and HAProxy doing the same mTLS termination
# and forwarding to the same fast upstream. Not part of the test suite; see docs/performance.md.
#
#   bash bench/run.sh                      # everything, defaults below
#   BENCH_PROXIES="nginx haproxy" BENCH_DURATION=5 bash bench/run.sh
#   BENCH_PROXIES="nginx intune-gate" BENCH_MODES="keepalive resume" BENCH_IDLE=0 bash bench/run.sh
#   BENCH_GATE_B=/other/checkout/build/bin/intune-gate bash bench/run.sh   # A/B of two builds
#   BENCH_UPSTREAM_BYTES=20000 bash bench/run.sh   # the upstream answers a 20 KB page instead of "ok\n"
#   BENCH_GATE_B=build/bin/intune-gate BENCH_GATE_B_POLICIES='[...]' bash bench/run.sh   # A/B of two configs
#
# Modes: keepalive (many requests per connection), handshake (a full TLS handshake per request),
# resume (a new connection per request resuming the previous one's TLS 1.3 session). With
# BENCH_NOLOG=1 (default) and the access log on, a second nginx without an access log
# ("nginx-nolog") is measured in the same rounds.
#
# Everything listens on 127.0.0.1, every step is bounded in time, and all it started is
# stopped on exit. Results: the table on stdout, also written to $BENCH_OUT.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BENCH_BUILD:-$ROOT/build}
PKI=${BENCH_PKI:-$ROOT/demo-pki}
PROXIES=${BENCH_PROXIES:-nginx haproxy intune-gate}
CONNECTIONS=${BENCH_CONNECTIONS:-50}
DURATION=${BENCH_DURATION:-10}
WARMUP=${BENCH_WARMUP:-2}
THREADS=${BENCH_THREADS:-1}
IDLE=${BENCH_IDLE:-10000}            # 0 skips the idle-connection RSS measurement
IDLE_HOLD=${BENCH_IDLE_HOLD:-10}
ACCESS_LOG=${BENCH_ACCESS_LOG:-1}    # 1: every proxy writes an access log line per request (to a file)
DEVICE=${BENCH_DEVICE:-compliant}    # the device certificate the load presents
PORT_BASE=${BENCH_PORT_BASE:-18000}
OUT=${BENCH_OUT:-$ROOT/.cache/bench/results.md}
SKIP_BUILD=${BENCH_SKIP_BUILD:-0}    # 1: use the binaries already in $BUILD/bin

MODES=${BENCH_MODES:-keepalive handshake resume}
NOLOG=${BENCH_NOLOG:-1}               # 1: also nginx with its access log off (when the logs are on)
ROUNDS=${BENCH_ROUNDS:-3}             # load runs per proxy and mode, interleaved; the table shows medians
GATE_B=${BENCH_GATE_B:-}              # another intune-gate binary, measured as "intune-gate-b" in the same rounds
UPSTREAM_BYTES=${BENCH_UPSTREAM_BYTES:-3}  # the upstream's answer body ("ok\n"; larger: a page's worth, e.g. 20000)
NGINX_TICKETS=${BENCH_NGINX_TICKETS:-on}  # nginx's ssl_session_tickets beside its shared session cache (on: its default)
GATE_B_POLICIES=${BENCH_GATE_B_POLICIES:-}  # JSON array: intune-gate-b runs with these "policies" (docs/policies.md)
declare -A PORT=([nginx]=$((PORT_BASE + 443)) [haproxy]=$((PORT_BASE + 445)) [intune-gate]=$((PORT_BASE + 446))
                 [nginx-authz]=$((PORT_BASE + 447)) [nginx-nolog]=$((PORT_BASE + 448))
                 [intune-gate-b]=$((PORT_BASE + 449)))
AUTHZ=${BENCH_AUTHZ:-1}              # 1 (with nginx and intune-gate): plugin mode, see report()
AUTHZ_PORT=$((PORT_BASE + 191))      # intune-gate's authorization endpoint
declare -A PID=()
PROXY_PORT=0                         # the port a rendered proxy config listens on
UPSTREAM_PORT=$((PORT_BASE + 80))
EMU_PORT=$((PORT_BASE + 444))
ADMIN_PORT=$((PORT_BASE + 901))
export BENCH_INTUNE_CLIENT_SECRET='demo-s3cret+/=&~ x'

RUN=$(mktemp -d /tmp/intune-bench.XXXXXX)
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    done
    rm -rf "$RUN"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '\n== %s\n' "$*" >&2; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

# ---- tools --------------------------------------------------------------------------------------
install_missing() {
    local need=()
    command -v nginx >/dev/null || need+=(nginx)
    [[ " $PROXIES " != *" haproxy "* ]] || command -v haproxy >/dev/null || need+=(haproxy)
    command -v jq >/dev/null || need+=(jq)
    command -v curl >/dev/null || need+=(curl)
    command -v openssl >/dev/null || need+=(openssl)
    command -v cmake >/dev/null || need+=(cmake g++)
    dpkg -s libboost1.81-dev libboost-url1.81-dev nlohmann-json3-dev libssl-dev >/dev/null 2>&1 ||
        need+=(libboost1.81-dev libboost-test1.81-dev libboost-url1.81-dev nlohmann-json3-dev libssl-dev)
    if ((${#need[@]})); then
        say "installing ${need[*]}"
        local sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
    fi
}

build() {
    if [ "$SKIP_BUILD" = 1 ]; then
        [ -x "$BUILD/bin/intune-loadgen" ] || die "no $BUILD/bin/intune-loadgen"
        if [[ " $PROXIES " == *" intune-gate "* ]] &&
            ! [ -x "$BUILD/bin/intune-gate" -a -x "$BUILD/bin/intune-graph-emulator" ]; then
            echo "bench: no intune-gate or emulator in $BUILD/bin; measuring nginx and HAProxy only" >&2
            PROXIES=$(echo "$PROXIES" | sed 's/intune-gate//')
        fi
        return
    fi
    say "building in $BUILD"
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$RUN/cmake.log" 2>&1 ||
        { cat "$RUN/cmake.log" >&2; die "cmake failed"; }
    cmake --build "$BUILD" -j2 --target intune-loadgen >"$RUN/build.log" 2>&1 ||
        { tail -30 "$RUN/build.log" >&2; die "cannot build intune-loadgen"; }
    if [[ " $PROXIES " == *" intune-gate "* ]]; then
        if ! cmake --build "$BUILD" -j2 --target intune-gate intune-graph-emulator >>"$RUN/build.log" 2>&1; then
            tail -20 "$RUN/build.log" >&2
            echo "bench: intune-gate or the emulator does not build; measuring nginx and HAProxy only" >&2
            PROXIES=$(echo "$PROXIES" | sed 's/intune-gate//')
        fi
    fi
}

# ---- helpers ------------------------------------------------------------------------------------
if [ "$UPSTREAM_BYTES" -le 3 ]; then
    UPSTREAM_ANSWER='return 200 "ok\\n";'
else  # nginx's string parameters are short: a larger answer is a file
    mkdir -p "$RUN/upstream-root"
    head -c "$UPSTREAM_BYTES" /dev/zero | tr '\0' x >"$RUN/upstream-root/body.txt"
    chmod o+x "$RUN" && chmod o+rx "$RUN/upstream-root"  # nginx's workers run as nobody when started by root
    UPSTREAM_ANSWER="root $RUN/upstream-root; try_files /body.txt =404;"
fi
render() {  # template → file, @NAME@ placeholders
    sed -e "s|@RUN@|$RUN|g" -e "s|@PKI@|$PKI|g" -e "s|@PORT@|$PROXY_PORT|g" \
        -e "s|@UPSTREAM_PORT@|$UPSTREAM_PORT|g" -e "s|@EMU_PORT@|$EMU_PORT|g" \
        -e "s|@ADMIN_PORT@|$ADMIN_PORT|g" -e "s|@ACCESS_LOG@|$NGINX_ACCESS_LOG|g" -e "s|@AUTHZ_PORT@|$AUTHZ_PORT|g" \
        -e "s|@UPSTREAM_ANSWER@|$UPSTREAM_ANSWER|g" -e "s|@TICKETS@|$NGINX_TICKETS|g" -e "s|@LOG_GLOBAL@|$HAPROXY_LOG_GLOBAL|g" -e "s|@LOG_DEFAULTS@|$HAPROXY_LOG_DEFAULTS|g" \
        "$ROOT/bench/$1" >"$2"
}

port_free() { ! ss -Htln "sport = :$1" 2>/dev/null | grep -q .; }

device_ok() {  # device_ok NAME PORT: the proxy forwards for this device certificate
    test "$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 --cacert "$PKI/server-ca.crt" \
        --cert "$PKI/device-$1.crt" --key "$PKI/device-$1.key" "https://127.0.0.1:$2/" || true)" = 200
}

emulator() {  # emulator METHOD PATH [BODY]
    curl -s --max-time 10 --cacert "$PKI/server-ca.crt" -X "$1" ${3:+-H 'Content-Type: application/json' -d "$3"} \
        "https://127.0.0.1:$EMU_PORT$2"
}

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
    local limit=$1 what=$2; shift 2
    local end=$((SECONDS + limit))
    until "$@"; do
        ((SECONDS < end)) || die "timed out after ${limit}s waiting for $what"
        sleep 0.1
    done
}

start_logged() {  # start_logged LOG COMMAND... → STARTED_PID
    local log=$1; shift
    "$@" >"$RUN/$log.out" 2>&1 &
    STARTED_PID=$!
    PIDS+=("$STARTED_PID")
}

stop() {  # stop PID
    local pid=$1
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

loadgen() {  # loadgen LABEL ARGS... → appends the JSON line to results.jsonl
    local label=$1; shift
    "$BUILD/bin/intune-loadgen" --label "$label" --url "https://127.0.0.1:${PORT[$label]}/bench" \
        --cert "$PKI/device-$DEVICE.crt" --key "$PKI/device-$DEVICE.key" --cacert "$PKI/server-ca.crt" \
        --threads "$THREADS" --watch-pid "${PID[$label]}" "$@" >"$RUN/loadgen.out" || true
    grep -v '^{' "$RUN/loadgen.out" >&2 || true
    grep '^{' "$RUN/loadgen.out" | tail -1 >>"$RUN/results.jsonl" || true
}

# loadgen_authz: plain-HTTP keep-alive checks straight at intune-gate's authorization endpoint,
# the device certificate in Client-Cert, intune-gate's CPU watched (label "authz").
loadgen_authz() {
    "$BUILD/bin/intune-loadgen" --label authz --mode authz --url "http://127.0.0.1:$AUTHZ_PORT/authz" \
        --cert "$PKI/device-$DEVICE.crt" --cert-header Client-Cert \
        --threads "$THREADS" --watch-pid "${PID[intune-gate]}" "$@" >"$RUN/loadgen.out" || true
    grep -v '^{' "$RUN/loadgen.out" >&2 || true
    grep '^{' "$RUN/loadgen.out" | tail -1 >>"$RUN/results.jsonl" || true
}

# nginx with auth_request to intune-gate (plugin mode); only nginx's own CPU is watched, so its
# figure minus plain nginx's is what auth_request costs nginx per request.
start_nginx_authz() {
    mkdir -p "$RUN/nginx-authz-tmp"
    PROXY_PORT=${PORT[nginx-authz]} render nginx-authz.conf.in "$RUN/nginx-authz.conf"
    start_logged nginx-authz nginx -p "$RUN" -c "$RUN/nginx-authz.conf" -e "$RUN/nginx-authz.error.log"
    PID[nginx-authz]=$STARTED_PID
    wait_for 10 "nginx with auth_request" device_ok "$DEVICE" "${PORT[nginx-authz]}"
}

# ---- the proxies (all run at once on their own ports; only the one under load is busy) ----------
start_nginx() {
    mkdir -p "$RUN/nginx-proxy-tmp"
    PROXY_PORT=${PORT[nginx]} render nginx-proxy.conf.in "$RUN/nginx-proxy.conf"
    start_logged nginx nginx -p "$RUN" -c "$RUN/nginx-proxy.conf" -e "$RUN/nginx-proxy.error.log"
    PID[nginx]=$STARTED_PID
    wait_for 10 "nginx" device_ok "$DEVICE" "${PORT[nginx]}"
}

# The same nginx with its access log off, beside the one that logs.
start_nginx_nolog() {
    mkdir -p "$RUN/nginx-proxy-tmp"
    PROXY_PORT=${PORT[nginx-nolog]} NGINX_ACCESS_LOG=off render nginx-proxy.conf.in "$RUN/nginx-nolog.conf"
    sed -i "s|nginx-proxy.pid|nginx-nolog.pid|" "$RUN/nginx-nolog.conf"
    start_logged nginx-nolog nginx -p "$RUN" -c "$RUN/nginx-nolog.conf" -e "$RUN/nginx-nolog.error.log"
    PID[nginx-nolog]=$STARTED_PID
    wait_for 10 "nginx without access log" device_ok "$DEVICE" "${PORT[nginx-nolog]}"
}

start_haproxy() {
    cat "$PKI/server.crt" "$PKI/server.key" >"$RUN/haproxy-server.pem"
    PROXY_PORT=${PORT[haproxy]} render haproxy.cfg.in "$RUN/haproxy.cfg"
    haproxy -c -q -f "$RUN/haproxy.cfg" || die "haproxy rejects its configuration"
    start_logged haproxy haproxy -db -f "$RUN/haproxy.cfg"
    PID[haproxy]=$STARTED_PID
    wait_for 10 "haproxy" device_ok "$DEVICE" "${PORT[haproxy]}"
}

start_emulator() {
    render emulator-devices.json.in "$RUN/emulator-devices.json"
    start_logged emulator "$BUILD/bin/intune-graph-emulator" --devices "$RUN/emulator-devices.json" \
        --cert "$PKI/server.crt" --key "$PKI/server.key" --address 127.0.0.1 --port "$EMU_PORT"
    wait_for 10 "the Graph emulator" bash -c "grep -q 'listening on' '$RUN/emulator.out'"
}

start_gate() {  # start_gate [LABEL BINARY]: the gateway under test, or a second build of it
    local label=${1:-intune-gate} binary=${2:-$BUILD/bin/intune-gate} config="$RUN/${1:-intune-gate}.json"
    if ! [ -f "$config" ]; then
        local offset=0; [ "$label" = intune-gate ] || offset=1
        PROXY_PORT=${PORT[$label]} ADMIN_PORT=$((ADMIN_PORT + offset)) AUTHZ_PORT=$((AUTHZ_PORT + offset)) \
            render intune-gate.json.in "$config"
        if [ "$label" = intune-gate-b ] && [ -n "$GATE_B_POLICIES" ]; then
            jq --argjson p "$GATE_B_POLICIES" '.policies = $p' "$config" >"$config.tmp" && mv "$config.tmp" "$config"
        fi
        "$binary" --check-config "$config" >&2 || die "$label rejects the bench config"
    fi
    start_logged "$label" "$binary" --config "$config"
    PID[$label]=$STARTED_PID
    wait_for 15 "$label to listen" gate_listening "$label"
}

gate_listening() {  # gate_listening [LABEL]
    local label=${1:-intune-gate}
    kill -0 "${PID[$label]}" 2>/dev/null || { tail -20 "$RUN/$label.out" >&2; die "$label exited"; }
    ! port_free "${PORT[$label]}"
}

# A cold device on a fresh gateway: one Graph call, and no token fetch on the request path.
cold_device_check() {
    say "intune-gate: cold-device check"
    emulator POST /_emulator/reset >/dev/null
    start_gate
    sleep 1
    local at_start after t_cold t_warm port=${PORT[intune-gate]}
    at_start=$(emulator GET /_emulator/stats)
    local cert=(--cacert "$PKI/server-ca.crt" --cert "$PKI/device-ingraceperiod.crt" --key "$PKI/device-ingraceperiod.key")
    t_cold=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 10 "${cert[@]}" "https://127.0.0.1:$port/cold" || true)
    after=$(emulator GET /_emulator/stats)
    t_warm=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 10 "${cert[@]}" "https://127.0.0.1:$port/warm" || true)
    stop "${PID[intune-gate]}"
    local tok0 tok1 g0 g1
    tok0=$(jq -r '.token_requests // 0' <<<"$at_start"); tok1=$(jq -r '.token_requests // 0' <<<"$after")
    g0=$(jq -r '.graph_requests // 0' <<<"$at_start"); g1=$(jq -r '.graph_requests // 0' <<<"$after")
    COLD_LINE="cold device (inGracePeriod, fresh gateway): status/time $t_cold s (then warm: $t_warm s); token requests at start $tok0, on the request path $((tok1 - tok0)); Graph calls for the request $((g1 - g0))"
    local verdict=ok
    ((g1 - g0 == 1)) || verdict="UNEXPECTED: expected exactly 1 Graph call"
    ((tok1 - tok0 == 0)) || verdict="UNEXPECTED: the token was fetched on the request path"
    ((tok0 >= 1)) || verdict="$verdict; the gateway fetched no token at start"
    COLD_LINE="$COLD_LINE — $verdict"
    echo "$COLD_LINE" >&2
}

# ---- report -------------------------------------------------------------------------------------
REPORT_JQ='
def median: sort | if length == 0 then null else .[(length - 1) / 2 | floor] end;
def load($l; $m): [.[] | select(.label == $l and .mode == $m)];
def stats: {rps: (map(.rps) | median), rps_min: (map(.rps) | min), rps_max: (map(.rps) | max),
            p50: (map(.p50_us) | median), p99: (map(.p99_us) | median), p999: (map(.p999_us) | median),
            cpu: (map(.server_cpu_us_per_req) | median), errors: (map(.errors) | add), runs: length,
            reuse: ((map(.resumed // 0) | add) / ([(map(.handshakes // 0) | add), 1] | max) * 1000 | round / 1000)};
def ratio(a; b): if (a == null or (b // 0) == 0) then "n/a" else ((a / b) * 100 | round / 100 | tostring) end;
def idle($l): [.[] | select(.label == $l and .mode == "idle")] | last;
'

report() {  # report RESULTS.jsonl
    local r=$1
    {
        echo "intune-gate bench, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(uname -r), load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
        echo "nginx $(nginx -v 2>&1 | sed 's|.*/||') (ssl_session_cache shared:SSL:10m, ssl_session_tickets $NGINX_TICKETS), HAProxy $(haproxy -v 2>/dev/null | head -1 | awk '{print $3}'), $(openssl version | awk '{print $1, $2}')"
        echo "load: intune-loadgen, $CONNECTIONS connections, $THREADS thread(s), ${WARMUP}s warm-up + ${DURATION}s measured, $ROUNDS interleaved round(s) (medians shown); upstream: nginx return 200 (1 worker); access log: $([ "$ACCESS_LOG" = 1 ] && echo on || echo off); device cert: device-$DEVICE (ECDSA P-256)"
        echo
        echo "| proxy | mode | req/s (min–max) | p50 µs | p99 µs | p99.9 µs | errors | proxy CPU µs/req |"
        echo "|---|---|---:|---:|---:|---:|---:|---:|"
        jq -rs "$REPORT_JQ"'
            . as $all | ("nginx", "nginx-nolog", "haproxy", "intune-gate", "intune-gate-b", "nginx-authz", "authz") as $l | ("keepalive", "handshake", "resume", "authz") as $m
            | ($all | load($l; $m)) | select(length > 0) | stats
            | "| \($l) | \($m) | \(.rps | floor) (\(.rps_min | floor)–\(.rps_max | floor)) | \(.p50) | \(.p99) | \(.p999) | \(.errors) | \(.cpu) |\(if $m == "resume" then " resumed \(.reuse)" else "" end)"' "$r"
        if jq -se 'any(.[]; .mode == "idle")' "$r" >/dev/null 2>&1; then
            echo
            echo "| proxy | idle conns open | still answering after hold | RSS before | RSS with them open | per connection |"
            echo "|---|---:|---:|---:|---:|---:|"
            jq -r 'select(.mode == "idle") | "| \(.label) | \(.opened) / \(.idle) | \(.alive_after_hold) | \(.server_rss_kb_before / 1024 | floor) MiB | \(.server_rss_kb_held / 1024 | floor) MiB | \(((.server_rss_kb_held - .server_rss_kb_before) / ([.opened,1]|max)) * 10 | floor / 10) kB |"' "$r"
        fi
        local pair gate base
        for pair in intune-gate/nginx intune-gate/nginx-nolog intune-gate/haproxy intune-gate-b/intune-gate; do
            gate=${pair%/*} base=${pair#*/}
            jq -se --arg b "$base" --arg g "$gate" 'any(.[]; .label == $b) and any(.[]; .label == $g)' "$r" \
                >/dev/null 2>&1 || continue
            echo
            echo "$gate / $base:"
            jq -rs --arg b "$base" --arg gate "$gate" "$REPORT_JQ"'
                . as $all
                | (("keepalive", "handshake", "resume") as $m
                   | ($all | load($gate; $m) | select(length > 0) | stats) as $g
                   | ($all | load($b; $m) | select(length > 0) | stats) as $o
                   | "  \($m): req/s ×\(ratio($g.rps; $o.rps)), p99 ×\(ratio($g.p99; $o.p99)), CPU/req ×\(ratio($g.cpu; $o.cpu))"),
                  (($all | idle($gate)) as $g | ($all | idle($b)) as $o | select($g != null and $o != null)
                   | "  RSS with \($g.opened) idle connections ×\(ratio($g.server_rss_kb_held; $o.server_rss_kb_held)), idle RSS ×\(ratio($g.server_rss_kb_before; $o.server_rss_kb_before))")' "$r"
        done
        for base in nginx intune-gate intune-gate-b; do
            jq -rs --arg b "$base" "$REPORT_JQ"'
                . as $all | ($all | load($b; "resume") | select(length > 0) | stats) as $r
                | ($all | load($b; "handshake") | select(length > 0) | stats) as $h
                | "\($b): resumed handshake CPU / full handshake CPU ×\(ratio($r.cpu; $h.cpu))"' "$r" 2>/dev/null || true
        done
        if jq -se 'any(.[]; .label == "authz") and any(.[]; .label == "nginx-authz")' "$r" >/dev/null 2>&1; then
            echo
            echo "plugin mode (keep-alive, warm cache; nginx-authz = nginx + auth_request to intune-gate, its own CPU only;"
            echo "authz = plain-HTTP checks straight at intune-gate's endpoint, intune-gate's CPU):"
            jq -rs "$REPORT_JQ"'
                . as $all
                | ($all | load("authz"; "authz") | stats) as $a
                | ($all | load("nginx"; "keepalive") | stats) as $n
                | ($all | load("nginx-authz"; "keepalive") | stats) as $na
                | "  intune-gate: \($a.rps | floor) checks/s, \($a.cpu) µs CPU per check",
                  "  nginx forwarding a request (mTLS, keep-alive): \($n.cpu) µs CPU; with auth_request: \($na.cpu) µs (auth_request costs nginx \(if $na.cpu and $n.cpu then (($na.cpu - $n.cpu) * 10 | round / 10) else "n/a" end) µs)",
                  "  check CPU / nginx forwarding CPU: ×\(ratio($a.cpu; $n.cpu)); check CPU / nginx auth_request overhead: ×\(if $na.cpu and $n.cpu then ratio($a.cpu; $na.cpu - $n.cpu) else "n/a" end)"' "$r"
        fi
        if [ -n "${COLD_LINE:-}" ]; then echo; echo "$COLD_LINE"; fi
    } | tee "$OUT"
}

if [ -n "${BENCH_REPORT_FROM:-}" ]; then  # only render the tables of an earlier run's .jsonl
    COLD_LINE=${BENCH_COLD_LINE:-}
    OUT=${BENCH_OUT:-/dev/null}
    report "$BENCH_REPORT_FROM"
    exit 0
fi

# ---- main ---------------------------------------------------------------------------------------
[[ $NGINX_TICKETS == on || $NGINX_TICKETS == off ]] || die "BENCH_NGINX_TICKETS must be on or off"
install_missing
build
say "making the PKI in $PKI"
bash "$ROOT/certs/make-pki.sh" "$PKI" >"$RUN/pki.log" 2>&1 || { cat "$RUN/pki.log" >&2; die "make-pki.sh failed"; }
[ -r "$PKI/device-$DEVICE.crt" ] || die "no device certificate $PKI/device-$DEVICE.crt"

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if ((IDLE > 0)) && (($(ulimit -n) < IDLE + 1000)); then
    echo "bench: open-file limit $(ulimit -n) is too low for $IDLE idle connections; using $(($(ulimit -n) - 1000))" >&2
    IDLE=$(($(ulimit -n) - 1000))
fi
for p in "${PORT[@]}" "$UPSTREAM_PORT" "$EMU_PORT" "$ADMIN_PORT" "$AUTHZ_PORT"; do
    port_free "$p" || die "port $p is in use (set BENCH_PORT_BASE)"
done
if [ "$ACCESS_LOG" = 1 ]; then
    NGINX_ACCESS_LOG="$RUN/nginx-access.log"
    HAPROXY_LOG_GLOBAL="log stdout format raw local0"
    HAPROXY_LOG_DEFAULTS="log global\n    option httplog"
else
    NGINX_ACCESS_LOG=off HAPROXY_LOG_GLOBAL="" HAPROXY_LOG_DEFAULTS=""
fi
mkdir -p "$(dirname "$OUT")" "$RUN/nginx-upstream-tmp"
: >"$RUN/results.jsonl"

say "upstream: nginx return 200 on 127.0.0.1:$UPSTREAM_PORT"
render nginx-upstream.conf.in "$RUN/nginx-upstream.conf"
start_logged upstream nginx -p "$RUN" -c "$RUN/nginx-upstream.conf" -e "$RUN/nginx-upstream.error.log"
wait_for 10 "the upstream" bash -c "curl -sf --max-time 2 http://127.0.0.1:$UPSTREAM_PORT/ >/dev/null"

for proxy in $PROXIES; do
    say "starting $proxy on 127.0.0.1:${PORT[$proxy]:-?}"
    case $proxy in
        nginx) start_nginx
               if [ "$NOLOG" = 1 ] && [ "$ACCESS_LOG" = 1 ]; then start_nginx_nolog; NOLOG_ON=1; fi ;;
        haproxy) start_haproxy ;;
        intune-gate)
            start_emulator
            start_gate
            # Warm the compliance cache with one request, as a deployment serving this device would be.
            wait_for 15 "intune-gate to forward for device-$DEVICE" device_ok "$DEVICE" "${PORT[intune-gate]}"
            if [ -n "$GATE_B" ]; then
                start_gate intune-gate-b "$GATE_B"
                wait_for 15 "intune-gate-b to forward" device_ok "$DEVICE" "${PORT[intune-gate-b]}"
            fi ;;
        *) die "unknown proxy $proxy (nginx, haproxy, intune-gate)" ;;
    esac
done
if [ "$AUTHZ" = 1 ] && [[ " $PROXIES " == *" nginx "* && " $PROXIES " == *" intune-gate "* ]]; then
    say "plugin mode: nginx with auth_request on 127.0.0.1:${PORT[nginx-authz]}, endpoint on $AUTHZ_PORT"
    start_nginx_authz
else
    AUTHZ=0
fi
for round in $(seq "$ROUNDS"); do
    for mode in $MODES; do
        for proxy in $PROXIES ${NOLOG_ON:+nginx-nolog} ${GATE_B:+intune-gate-b}; do
            say "round $round/$ROUNDS, $proxy: $mode, $CONNECTIONS connections, ${WARMUP}s warm-up + ${DURATION}s"
            loadgen "$proxy" --mode "$mode" --connections "$CONNECTIONS" --duration "$DURATION" --warmup "$WARMUP"
        done
    done
    if [ "$AUTHZ" = 1 ]; then
        say "round $round/$ROUNDS, plugin mode: nginx + auth_request, then checks straight at the endpoint"
        loadgen nginx-authz --mode keepalive --connections "$CONNECTIONS" --duration "$DURATION" --warmup "$WARMUP"
        loadgen_authz --connections "$CONNECTIONS" --duration "$DURATION" --warmup "$WARMUP"
    fi
done
if ((IDLE > 0)); then
    for proxy in $PROXIES ${GATE_B:+intune-gate-b}; do
        say "$proxy: $IDLE idle keep-alive connections held ${IDLE_HOLD}s"
        loadgen "$proxy" --idle "$IDLE" --connections 64 --duration "$IDLE_HOLD" --timeout 20
    done
fi
if [[ " $PROXIES " == *" intune-gate "* ]]; then
    stop "${PID[intune-gate]}"
    cold_device_check
fi
say "results (also in $OUT and ${OUT%.md}.jsonl)"
cp "$RUN/results.jsonl" "${OUT%.md}.jsonl"
report "$RUN/results.jsonl"
