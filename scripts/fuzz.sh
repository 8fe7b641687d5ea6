#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, clang with ASan+UBSan) into build-fuzz/ and runs each for
# SECONDS (default 60), one after the other:   bash scripts/fuzz.sh [SECONDS] [TARGET...]
# Seeds come from fuzz/corpus/<target>/ (read only); what a run learns goes to
# build-fuzz/corpus/<target>/, a crash to build-fuzz/crashes/<target>/. Prints per target the
# executions, the seconds and the crashes; exits 1 when a target crashed, 0 (with a note) when
# there is no clang to build with.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
seconds=${1:-60}
shift || true

cxx=$(command -v clang++ || command -v clang++-14 || true)
if [ -z "$cxx" ]; then
  echo "fuzz: no clang++ here, the fuzz targets are not built (scripts/build.sh installs it)"
  exit 0
fi

launcher=()
if command -v ccache >/dev/null 2>&1; then
  export CCACHE_BASEDIR="$top" CCACHE_NOHASHDIR=1
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
out=$top/build-fuzz
cmake -S fuzz -B "$out" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE= "${launcher[@]}" >/dev/null
cmake --build "$out" -j"${JOBS:-2}"

# The config target resolves relative paths against a real PKI.
bash certs/make-pki.sh "$out/pki" >/dev/null
export IG_FUZZ_PKI="$out/pki"

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for src in fuzz/*.cpp; do targets+=("$(basename "$src" .cpp)"); done
fi

status=0
printf '%-12s %12s %8s %8s\n' target executions seconds crashes
for t in "${targets[@]}"; do
  mkdir -p "$out/corpus/$t" "$out/crashes/$t" "$out/logs"
  log=$out/logs/$t.log
  opts=(-max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048
        -artifact_prefix="$out/crashes/$t/")
  [ -f "fuzz/$t.dict" ] && opts+=(-dict="fuzz/$t.dict")
  [ -f "fuzz/$t.options" ] && read -r -a extra <"fuzz/$t.options" && opts+=("${extra[@]}")
  touch "$log.start"
  rc=0
  "$out/bin/fuzz_$t" "${opts[@]}" "$out/corpus/$t" "fuzz/corpus/$t" >"$log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
  crashes=$(find "$out/crashes/$t" -type f -newer "$log.start" | wc -l)
  if [ "$rc" -ne 0 ]; then
    status=1
    [ "$crashes" -gt 0 ] || crashes=1
    printf '%-12s %12s %8s %8s   FAILED, see %s\n' "$t" "${execs:-?}" "${secs:-?}" "$crashes" "$log"
    grep -m3 -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$log" || true
  else
    printf '%-12s %12s %8s %8s\n' "$t" "${execs:-?}" "${secs:-$seconds}" 0
  fi
done
exit $status
