#!/usr/bin/env bash
# Style and static checks (README: Contributing): clang-format on the C++ of core/, proxy/, fuzz/,
# bench/ and the unit tests (.clang-format), the coroutine-capture check (scripts/coroutine_captures.py),
# then clang-tidy on core/ and proxy/ (.clang-tidy)
# against build/compile_commands.json. Exits 1 on the first kind of problem found.
#   bash scripts/lint.sh            check (what scripts/test.sh runs)
#   bash scripts/lint.sh --fix      reformat the files in place
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

format=$(command -v clang-format || command -v clang-format-14 || true)
tidy=$(command -v clang-tidy || command -v clang-tidy-14 || true)
if [ -z "$format" ] || [ -z "$tidy" ]; then
  echo "lint: clang-format or clang-tidy missing (scripts/build.sh installs them)"
  exit 1
fi

mapfile -t sources < <(git ls-files 'core/*.cpp' 'core/*.hpp' 'proxy/*.cpp' 'proxy/*.hpp' 'fuzz/*.cpp' \
                                     'fuzz/support/*.cpp' 'bench/*.cpp' 'tests/core/*.cpp' 'tests/core/*.hpp' \
                                     'tests/proxy/*.cpp' 'tests/proxy/*.hpp' 'tests/support/*.cpp' 'tests/support/*.hpp')
if [ "${1:-}" = --fix ]; then
  "$format" -i "${sources[@]}"
  exit 0
fi
if ! "$format" --dry-run -Werror "${sources[@]}" 2>"${TMPDIR:-/tmp}/ig-format.log"; then
  grep -m 20 'error:' "${TMPDIR:-/tmp}/ig-format.log" || true
  echo "lint: formatting differs from .clang-format (fix with: bash scripts/lint.sh --fix)"
  exit 1
fi
echo "lint: clang-format clean (${#sources[@]} files)"

# A by-value capture in a co_await statement is destroyed twice by GCC 12 (docs/testing.md).
mapfile -t all_cpp < <(git ls-files '*.cpp' '*.hpp')
python3 scripts/coroutine_captures.py "${all_cpp[@]}" || { echo "lint: lambda captures in co_await statements"; exit 1; }
echo "lint: no by-value lambda captures in co_await statements (${#all_cpp[@]} files)"

[ -f build/compile_commands.json ] || { echo "lint: build/compile_commands.json missing (run scripts/build.sh)"; exit 1; }
mapfile -t units < <(git ls-files 'core/*.cpp' 'proxy/*.cpp')
log=${TMPDIR:-/tmp}/ig-tidy.log
if ! printf '%s\n' "${units[@]}" | xargs -P "${JOBS:-2}" -n 4 "$tidy" -p build --quiet >"$log" 2>&1; then
  grep -E 'warning:|error:' "$log" | grep -v 'warnings generated' | head -40
  echo "lint: clang-tidy found problems (see .clang-tidy)"
  exit 1
fi
echo "lint: clang-tidy clean (${#units[@]} files)"
