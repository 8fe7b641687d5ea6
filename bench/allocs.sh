#!/usr/bin/env bash
# Heap allocations per keep-alive request of the front end (docs/performance.md, "Where a keep-alive
# request goes"): the gateway runs under heaptrack twice, once with a short and once with a long
# keep-alive load from intune-loadgen; the difference of the two totals divided by the difference of
# the request counts is what one request costs, start-up and connection set-up cancelled out. Then
# the same difference per call site, grouped by the first frame that says what allocated.
#
#   bash bench/allocs.sh [SHORT_S LONG_S]      # default 3 and 12; BENCH_BUILD (default build/)
#
# Not part of the test suite. Needs heaptrack (installed when missing). Everything listens on
# 127.0.0.1 on free ports and is stopped on exit.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
short=${1:-3}
long=${2:-12}
command -v heaptrack >/dev/null || { apt-get update -qq && apt-get install -y -qq heaptrack >/dev/null; }
# shellcheck source=../tests/e2e/lib.sh
TEST_NAME=allocs source "$ROOT/tests/e2e/lib.sh" "${BENCH_BUILD:-$ROOT/build}"

make_pki
start_emulator
start_upstream
write_config '{"workers": 1}'

for dur in "$short" "$long"; do
  IG_GATE_WRAPPER="heaptrack -o $T/heap-$dur" start_gateway
  gw_curl compliant -o /dev/null "$GW/warm"  # the verdict is cached before the load
  "$BIN/intune-loadgen" --url "$GW/x" --cert "$PKI/device-compliant.crt" --key "$PKI/device-compliant.key" \
    --cacert "$PKI/server-ca.crt" --mode keepalive --connections 4 --duration "$dur" --warmup 0 \
    >"$T/load-$dur.json" 2>"$T/load-$dur.txt"
  # $GW_PID is heaptrack's script; the gateway is its child and gets the signal.
  kill -TERM "$(pgrep -P "$GW_PID" -x intune-gate)"
  wait "$GW_PID" || true
  heaptrack_print -f "$T/heap-$dur".* >"$T/heap-$dur.txt" 2>/dev/null
done

python3 - "$T/load-$short.json" "$T/heap-$short.txt" "$T/load-$long.json" "$T/heap-$long.txt" <<'PY'
import collections, json, re, sys

def requests(path):
    return json.loads(open(path).read().strip().splitlines()[-1])["requests"]

# The call sites of "MOST CALLS TO ALLOCATION FUNCTIONS", each named by the first frame that is not
# an allocator, a standard-library helper or a frame-less address.
SKIP = re.compile(r"^(at |in |0x)|operator new|aligned_new|allocate|_M_create|_M_construct|_M_mutate|"
                  r"_M_append|_M_replace|_M_assign|_M_realloc|CRYPTO_|OPENSSL_|malloc|thread_info_base|"
                  r"__new_allocator|basic_string|push_back|emplace|reserve|recycling|__invoke")

def sites(path):
    text = open(path).read()
    section = text.split("MOST CALLS TO ALLOCATION FUNCTIONS", 1)[1].split("PEAK MEMORY CONSUMERS", 1)[0]
    total = int(re.search(r"calls to allocation functions: (\d+)", text).group(1))
    out = collections.Counter()
    lines = section.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^(\d+) calls with .* from:$", line)
        if not m:
            continue
        name = "?"
        for frame in lines[i + 1:i + 40]:
            frame = frame.strip()
            if re.match(r"^\d+ calls", frame):
                break
            if frame and not SKIP.search(frame):
                name = re.sub(r"\(.*", "", frame)[:90]
                break
        out[name] += int(m.group(1))
    return total, out

n_short, n_long = requests(sys.argv[1]), requests(sys.argv[3])
(t_short, s_short), (t_long, s_long) = sites(sys.argv[2]), sites(sys.argv[4])
per = (t_long - t_short) / (n_long - n_short)
print("keep-alive requests: %d and %d; allocations: %d and %d" % (n_short, n_long, t_short, t_long))
print("allocations per request: %.1f" % per)
print("| call site (first frame that allocated) | per request |")
print("|---|---:|")
diff = {k: (s_long[k] - s_short.get(k, 0)) / (n_long - n_short) for k in s_long}
for name, v in sorted(diff.items(), key=lambda kv: -kv[1])[:15]:
    if v >= 0.5:
        print("| `%s` | %.1f |" % (name, v))
PY
