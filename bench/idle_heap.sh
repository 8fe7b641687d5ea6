#!/usr/bin/env bash
# What an idle mTLS connection keeps on the heap (docs/performance.md, round five): the gateway runs
# under heaptrack, intune-loadgen opens N keep-alive connections (one request each) and holds them;
# during the hold the gateway is killed, so what heaptrack still counts as live is what the idle
# connections (and the process's start-up state) keep. Then the live bytes per call site, divided by N.
#
#   bash bench/idle_heap.sh [N]      # default 3000; BENCH_BUILD (default build/)
#
# Not part of the test suite. Needs heaptrack (installed when missing). Everything listens on
# 127.0.0.1 on free ports and is stopped on exit.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
n=${1:-3000}
command -v heaptrack >/dev/null || { apt-get update -qq && apt-get install -y -qq heaptrack >/dev/null; }
# shellcheck source=../tests/e2e/lib.sh
TEST_NAME=idle_heap source "$ROOT/tests/e2e/lib.sh" "${BENCH_BUILD:-$ROOT/build}"

make_pki
start_emulator
start_upstream
write_config '{"workers": 1, "tls": {"client_certificate": "required"},
  "limits": {"max_connections": 20000, "max_connections_per_address": 20000, "idle_timeout_s": 600}}'
IG_GATE_WRAPPER="heaptrack -o $T/heap" start_gateway
gw_curl compliant -o /dev/null "$GW/warm"
gate=$(pgrep -P "$GW_PID" -x intune-gate)
hold=$((n / 200 + 15))  # opening under heaptrack takes about 3.6 ms a connection
"$BIN/intune-loadgen" --url "$GW/x" --cert "$PKI/device-compliant.crt" --key "$PKI/device-compliant.key" \
  --cacert "$PKI/server-ca.crt" --idle "$n" --duration "$hold" >"$T/idle.txt" 2>&1 &
load=$!
# Wait until all are open (the load generator says so), then a little more.
for _ in $(seq 1 600); do grep -q 'connections open after' "$T/idle.txt" && break; sleep 0.2; done
grep -q 'connections open after' "$T/idle.txt" || { cat "$T/idle.txt" >&2; echo "connections did not open" >&2; exit 1; }
sleep 2
kill -KILL "$gate"
wait "$load" || true
wait "$GW_PID" || true
grep -m1 'connections open after' "$T/idle.txt"
heaptrack_print --print-leaks 1 -f "$T/heap".* >"$T/heap.txt" 2>/dev/null

python3 - "$T/heap.txt" "$n" <<'PY'
import re, sys
text, n = open(sys.argv[1]).read(), int(sys.argv[2])
section = text.split("MEMORY LEAKS", 1)[1]
total = re.search(r"total memory leaked: ([\d.]+[KMG]?)", text).group(1)
def size(s):
    m = re.match(r"([\d.]+)([KMG]?)", s)
    return float(m.group(1)) * {"": 1, "K": 1e3, "M": 1e6, "G": 1e9}[m.group(2)]
lines = section.splitlines()
rows = []
for i, line in enumerate(lines):
    m = re.match(r"^\s*([\d.]+[KMG]?)B? leaked over (\d+) calls from:", line)
    if not m:
        continue
    frames = []
    for f in lines[i + 1:i + 60]:
        f = f.strip()
        if "leaked over" in f:
            break
        if f.startswith(("at ", "in ")):
            continue
        frames.append(re.sub(r"\(.*", "", f)[:70])
        if len(frames) == 3:
            break
    rows.append((size(m.group(1)), int(m.group(2)), " <- ".join(frames)))
print("live at the kill: %s for %d idle connections (%.0f B each, start-up state included)"
      % (total, n, size(total) / n))
print("| bytes per connection | allocations | first frames |")
print("|---:|---:|---|")
for b, calls, where in sorted(rows, key=lambda r: -r[0])[:25]:
    if b / n >= 10:
        print("| %.0f | %d | `%s` |" % (b / n, calls, where))
PY
