#!/usr/bin/env bash
# conf/intune-gate.schema.json (draft 2020-12): every shipped and example configuration and the
# configs the end-to-end tests write validate, a typo does not, and the schema and the loader
# (intune-gate --check-config) know the same keys, ranges and choices (tests/e2e/config_schema.py).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_install.sh"
ensure_packages python3-jsonschema
SCHEMA=$TOP/conf/intune-gate.schema.json
CHECK=$TOP/tests/e2e/config_schema.py

# Every configuration under conf/ (the emulator's device list is not one).
mapfile -t shipped < <(find "$TOP/conf" -name '*.json' ! -name 'emulator-devices.json' ! -name '*.schema.json' | sort)
[ ${#shipped[@]} -ge 3 ] || fail "expected the configurations under conf/, found ${#shipped[@]}"
python3 "$CHECK" validate "$SCHEMA" "${shipped[@]}" || fail "a shipped configuration does not validate"

# The configs lib.sh and lib_authz.sh write: the front end's, and a plugin-only one.
make_pki
write_config '{}'
cp "$T/gate.json" "$T/front.json"
write_config '{"listen": null, "intune": {"client_secret": {"env": "INTUNE_CLIENT_SECRET"}},
  "admin": {"address": "127.0.0.1", "port": 9901},
  "authz": {"address": "127.0.0.1", "port": 9191, "trusted_peers": ["127.0.0.1/32", "::1/128"]}}'
cp "$T/gate.json" "$T/plugin.json"
python3 "$CHECK" validate "$SCHEMA" "$T/front.json" "$T/plugin.json" || fail "a test configuration does not validate"

# The schema refuses what the loader refuses: a typo, a value out of range, a wrong choice.
python3 - "$T/front.json" "$T" <<'PY'
import json, sys
cfg = json.load(open(sys.argv[1]))
bad = {
  "typo": lambda c: c["tls"].update({"clinet_ca": "x"}),
  "range": lambda c: c["limits"].update({"max_header_bytes": 100}),
  "choice": lambda c: c["tls"].update({"min_version": "1.1"}),
  "outcome key": lambda c: c["outcomes"]["Compliant"].update({"status": 200}),
  "no tenant": lambda c: c["intune"].pop("tenant_id"),
}
for name, change in bad.items():
    c = json.loads(json.dumps(cfg)); change(c)
    json.dump(c, open("%s/bad-%s.json" % (sys.argv[2], name.replace(" ", "-")), "w"))
PY
for f in "$T"/bad-*.json; do
  if python3 "$CHECK" validate "$SCHEMA" "$f" >/dev/null 2>&1; then fail "the schema accepts $(basename "$f")"; fi
  "$BIN/intune-gate" --check-config "$f" >/dev/null 2>&1 && fail "the loader accepts $(basename "$f")"
done
ok "the schema and the loader refuse a typo, a range, a choice, a misplaced key, a missing key"

# Both directions of keys, and the ranges and choices.
python3 "$CHECK" loader "$SCHEMA" "$BIN/intune-gate" "$TOP" || fail "the schema and the loader disagree"
echo "PASS $TEST_NAME"
