#!/usr/bin/env bash
# The demo command: installs what is missing, builds, makes the demo PKI into demo-pki/ and checks
# conf/demo.json with the gateway itself.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

echo "== build"
bash scripts/build.sh

echo "== demo PKI in demo-pki/"
bash certs/make-pki.sh demo-pki

echo "== check conf/demo.json"
build/bin/intune-gate --check-config conf/demo.json
