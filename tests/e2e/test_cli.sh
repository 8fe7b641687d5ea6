#!/usr/bin/env bash
# The command line: --version, --help, usage errors, --check-config (exit 0 and "config ok" for a
# good file; exit 2 and every problem at once, each naming its JSON Pointer, for a bad one), config
# warnings (reported, not fatal) at --check-config and at start-up, and --config refusing a bad file.
source "$(dirname "$0")/lib.sh"
GATE=$BIN/intune-gate
make_pki

# run ARGS...: runs the binary; sets RC, OUT (stdout) and ERR (stderr).
run() {
  RC=0
  "$GATE" "$@" >"$T/out" 2>"$T/err" || RC=$?
  OUT=$(cat "$T/out"); ERR=$(cat "$T/err")
}

run --version
expect_eq "--version exit" "$RC" 0
[[ $OUT =~ ^intune-gate\ [0-9]+\.[0-9]+ ]] || fail "--version printed: $OUT"
ok "--version: $OUT"
run --help
expect_eq "--help exit" "$RC" 0
grep -q -- '--check-config FILE' "$T/out" || fail "--help does not show --check-config: $OUT"
ok "--help shows the usage"
for args in "" "--bogus" "--config" "--check-config"; do
  run $args
  expect_eq "usage error '$args': exit" "$RC" 2
  grep -q '^usage: intune-gate' "$T/err" || fail "usage error '$args': no usage on stderr: $ERR"
done

# A good config (secret from the environment): ok, no warnings.
export INTUNE_CLIENT_SECRET='cli-s3cret-value'
write_config '{"intune":{"client_secret":{"env":"INTUNE_CLIENT_SECRET"},"save_device_properties":false,"device_properties":[]}}'
run --check-config "$T/gate.json"
expect_eq "good config: exit" "$RC" 0
expect_eq "good config: stdout" "$OUT" "config ok: $T/gate.json"
expect_eq "good config: no warnings" "$ERR" ""

# Four problems at once: a missing file, a typo'd key, an unset variable, an out-of-range status.
write_config '{"tls":{"client_ca":"'"$T/missing-ca.pem"'","clinet_ca":"x"},
               "intune":{"client_secret":{"env":"IG_TEST_UNSET_VARIABLE"}},
               "outcomes":{"NoId":{"action":"reject","status":200}}}'
unset IG_TEST_UNSET_VARIABLE
run --check-config "$T/gate.json"
expect_eq "bad config: exit" "$RC" 2
expect_eq "bad config: nothing on stdout" "$OUT" ""
for want in '^config error: /tls/client_ca: .*missing-ca\.pem' '^config error: /tls/clinet_ca: unknown key' \
            '^config error: /intune/client_secret: .*IG_TEST_UNSET_VARIABLE' '^config error: /outcomes/NoId/status: .*200'; do
  grep -qE "$want" "$T/err" || fail "bad config: no line /$want/ in: $ERR"
  ok "bad config reports /$want/"
done
expect_eq "bad config: one line per problem" "$(grep -c '^config error: ' "$T/err")" 4
# The same file given to --config: exit 2 before listening.
run --config "$T/gate.json"
expect_eq "--config with a bad file: exit" "$RC" 2
grep -q '"msg":"listening"' "$T/out" && fail "--config with a bad file started listening"
ok "--config with a bad file does not start"

# Warnings: a literal secret, and a key the auth mode ignores. Reported by --check-config and at
# start-up, and neither stops the gateway; the secret's value is never printed.
write_config '{"intune":{"client_secret":"literal-Secr3t-xyz","client_certificate":"'"$PKI/intune-app.crt"'"}}'
run --check-config "$T/gate.json"
expect_eq "warnings: exit" "$RC" 0
grep -q '^config warning: /intune/client_secret: ' "$T/err" || fail "no warning for the literal secret: $ERR"
grep -q '^config warning: /intune/client_certificate: .*not used' "$T/err" || fail "no warning for the ignored key: $ERR"
grep -qF 'literal-Secr3t' "$T/err" "$T/out" && fail "the secret's value was printed"
ok "--check-config prints the warnings, exits 0"
start_gateway
grep -q '"msg":"config warning".*\/intune\/client_secret' "$T/gate.log" || fail "no start-up warning for the literal secret in the log"
grep -q '"msg":"config warning".*\/intune\/client_certificate' "$T/gate.log" || fail "no start-up warning for the ignored key in the log"
grep -qF 'literal-Secr3t' "$T/gate.log" && fail "the secret's value is in the log"
expect_gateway_alive
ok "the gateway starts with the warnings logged"
stop_gateway_and_check_log  # every line JSON: the warnings too
echo "PASS $TEST_NAME"
