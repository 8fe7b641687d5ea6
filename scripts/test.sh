#!/usr/bin/env bash
# The test command: installs what is missing, builds, and runs every test with CTest —
# the unit tests and end-to-end tests of the release build, then the unit tests under ASan+UBSan,
# then every fuzz target for a short fixed time (a crash fails the run), then the style and
# static checks (scripts/lint.sh: clang-format and clang-tidy).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
bash scripts/build.sh --asan
status=0
(cd build && ctest --output-on-failure -j"${JOBS:-2}") || status=1
echo "== unit tests under AddressSanitizer + UndefinedBehaviorSanitizer"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
   ctest --output-on-failure -j"${JOBS:-2}" -L unit) || status=1
echo "== fuzz targets, ${FUZZ_SECONDS:-15} s each"
bash scripts/fuzz.sh "${FUZZ_SECONDS:-15}" || status=1
echo "== clang-format and clang-tidy"
bash scripts/lint.sh || status=1
exit $status
