#!/usr/bin/env bash
# Installs the Debian packages that are missing (apt-get only when something is), then configures
# and builds into build/ (and, with --asan, the sanitizer build of the unit tests into build-asan/).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

packages=(libboost1.81-dev libboost-test1.81-dev libboost-url1.81-dev nlohmann-json3-dev
          libssl-dev cmake g++ make openssl curl ca-certificates python3 nginx caddy chromium
          pkg-config libhiredis-dev redis-server jq
          clang libclang-rt-14-dev   # clang + libFuzzer runtime: scripts/fuzz.sh
          clang-format clang-tidy    # scripts/lint.sh
          haproxy                    # tests/e2e/test_authz_haproxy.sh (its service is not started: see below)
          python3-jsonschema         # tests/e2e/test_config_schema.sh
          dpkg-dev lintian man-db)   # scripts/package.sh, tests/e2e/test_package.sh
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  # A package that ships a service (haproxy, nginx, redis) must not start it: the tests run their own
  # processes on their own ports. Debian's invoke-rc.d and deb-systemd-invoke obey policy-rc.d.
  own_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo_cmd tee /usr/sbin/policy-rc.d >/dev/null
    $sudo_cmd chmod 0755 /usr/sbin/policy-rc.d
    own_policy=1
  fi
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
  [ $own_policy -eq 0 ] || $sudo_cmd rm -f /usr/sbin/policy-rc.d
fi

jobs=${JOBS:-2}
# ccache, when the machine has it, makes rebuilds in other checkouts of the tree cheap; paths are
# hashed relative to the checkout so two clones share one cache.
launcher=()
if command -v ccache >/dev/null 2>&1; then
  export CCACHE_BASEDIR="$top" CCACHE_NOHASHDIR=1
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
# compile_commands.json: clang-tidy (scripts/lint.sh) reads it.
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_EXPORT_COMPILE_COMMANDS=ON "${launcher[@]}" >/dev/null
cmake --build build -j"$jobs"
if [ "${1:-}" = "--asan" ]; then
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DIG_SANITIZE=ON -DIG_UNIT_TESTS_ONLY=ON "${launcher[@]}" >/dev/null
  cmake --build build-asan -j"$jobs"
fi
