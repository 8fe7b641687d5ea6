#!/usr/bin/env bash
# e2e (endurance, issue 27): bench/soak.sh for 60 seconds — mixed load (keep-alive, new and resumed
# TLS connections, plugin-mode checks, help-desk refreshes) over 1,000 devices of every state while
# the emulator flips states and fails in phases (slow, 429, 503, garbage), Redis is restarted and
# the config reloaded every 15 s (every other reload invalid). Fails on a wrong answer, a crash,
# RSS growing 10 % after the warm-up (5 % in runs of five minutes or more), descriptors or Redis connections not back to their baseline,
# or a warning the phase does not explain. The 10-minute run and its figures: docs/performance.md.
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
build=$(cd "$1" && pwd)
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SOAK_SECONDS=${SOAK_SECONDS:-60} SOAK_BUILD=$build SOAK_OUT=$build/soak-summary.json \
  nice -n 5 bash "$top/bench/soak.sh"
