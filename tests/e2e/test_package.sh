#!/usr/bin/env bash
# The Debian package as an operator meets it: scripts/package.sh builds it from this build's binary
# and lints it, dpkg -i installs it, its files, user and unit are checked, --check-config on the
# shipped config names exactly the missing certificates and secret, the installed binary serves a
# request as the intune-gate user against the emulator, and dpkg --purge leaves nothing but the
# system user (kept on purge, README.Debian says why). Needs root (CI runs as root on a throwaway
# machine); otherwise it skips. The package is purged on every exit, failures included.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_install.sh"

if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP $TEST_NAME: installing a package needs root (dpkg -i); run the tests as root"
  exit 0
fi
# One package test at a time on a machine (dpkg has one database).
exec 9>/tmp/intune-gate-package-test.lock
flock -w 300 9 || fail "another test holds /tmp/intune-gate-package-test.lock (a process it left?)"
if dpkg-query -W -f='${Status}' intune-gate 2>/dev/null | grep -q 'install ok installed'; then
  echo "SKIP $TEST_NAME: intune-gate is already installed here; the test will not replace an installation"
  exit 0
fi
ensure_packages dpkg-dev lintian man-db adduser

USER_EXISTED=0
getent passwd intune-gate >/dev/null && USER_EXISTED=1
purge_package() {
  if dpkg-query -W -f='${Status}' intune-gate 2>/dev/null | grep -qv 'not-installed'; then
    dpkg --purge intune-gate >>"$T/dpkg.log" 2>&1 || echo "WARNING: dpkg --purge intune-gate failed" >&2
  fi
  # What a broken postrm may leave must not outlive the test on this machine.
  if dpkg-statoverride --list /etc/intune-gate >/dev/null 2>&1; then dpkg-statoverride --remove /etc/intune-gate || true; fi
  # The user is the test's own when it was not there before.
  if [ $USER_EXISTED -eq 0 ] && getent passwd intune-gate >/dev/null; then
    deluser --system --quiet intune-gate >/dev/null 2>&1 || true
    getent group intune-gate >/dev/null && delgroup --system --quiet intune-gate >/dev/null 2>&1 || true
  fi
}
trap 'st=$?; set +e; purge_package; (exit $st); cleanup' EXIT

# 1. Build and lint (lintian fails the build on any error or warning not overridden).
deb=$(IG_BUILD_DIR="$BUILD" bash "$TOP/scripts/package.sh" 2>"$T/package.log" | tail -n 1) ||
  fail "scripts/package.sh: $(tail -n 30 "$T/package.log")"
[ -f "$deb" ] || fail "no package at '$deb'"
ok "package built and lintian-clean: $(basename "$deb")"
dpkg-deb -f "$deb" Depends >"$T/depends"
for lib in libssl3 libboost-url1.81.0 libhiredis libstdc++6 adduser; do
  grep -q "$lib" "$T/depends" || fail "Depends lacks $lib (dpkg-shlibdeps): $(cat "$T/depends")"
done
ok "Depends computed by dpkg-shlibdeps: $(cat "$T/depends")"

# 2. Install.
dpkg -i "$deb" >"$T/dpkg.log" 2>&1 || fail "dpkg -i: $(tail -n 20 "$T/dpkg.log")"
dpkg -L intune-gate >"$T/files"
expect_eq "installed binary" "$(/usr/bin/intune-gate --version)" "intune-gate $(dpkg-deb -f "$deb" Version)"
unit=/lib/systemd/system/intune-gate.service
[ -f "$unit" ] || fail "no $unit"
grep -qx 'ExecStart=/usr/bin/intune-gate --config /etc/intune-gate/config.json' "$unit" || fail "unit: ExecStart"
grep -qx 'ExecReload=/bin/kill -HUP $MAINPID' "$unit" || fail "unit: reload is not SIGHUP"
grep -qx 'EnvironmentFile=-/etc/intune-gate/env' "$unit" || fail "unit: EnvironmentFile"
grep -qx 'User=intune-gate' "$unit" || fail "unit: User"
# Every line of the unit in conf/ but the binary's path is in the packaged one: the hardening kept.
diff <(sed 's|/usr/local/bin/|/usr/bin/|' "$TOP/conf/intune-gate.service") "$unit" >/dev/null ||
  fail "the packaged unit differs from conf/intune-gate.service"
ok "unit: ExecReload SIGHUP, EnvironmentFile, hardening as in conf/"
cmp -s /etc/intune-gate/config.json "$TOP/conf/production.json" || fail "config.json is not conf/production.json"
dpkg-query -W -f='${Conffiles}\n' intune-gate | grep -q ' /etc/intune-gate/config.json ' ||
  fail "config.json is not a conffile"
ok "config.json: the production example, a conffile"
for f in /usr/share/doc/intune-gate/copyright /usr/share/doc/intune-gate/changelog.gz \
         /usr/share/doc/intune-gate/README.md.gz /usr/share/doc/intune-gate/examples/haproxy.cfg \
         /usr/share/doc/intune-gate/examples/intune-gate.lua /usr/share/intune-gate/intune-gate.schema.json \
         /usr/share/man/man8/intune-gate.8.gz; do
  [ -f "$f" ] || fail "missing $f"
done
man -l /usr/share/man/man8/intune-gate.8.gz 2>/dev/null | grep -q 'EXIT STATUS' || fail "the man page does not render"
ok "docs, copyright, examples, schema, man page"
passwd=$(getent passwd intune-gate) || fail "no intune-gate user"
uid=$(echo "$passwd" | cut -d: -f3)
[ "$uid" -lt 1000 ] || fail "intune-gate is not a system user (uid $uid)"
case "$(echo "$passwd" | cut -d: -f7)" in */nologin|*/false) ;; *) fail "intune-gate has a login shell: $passwd";; esac
getent group intune-gate >/dev/null || fail "no intune-gate group"
expect_eq "/etc/intune-gate owner and mode" "$(stat -c '%U:%G %a' /etc/intune-gate)" "root:intune-gate 750"
if command -v systemd-analyze >/dev/null && [ -d /run/systemd/system ]; then
  systemd-analyze verify "$unit" >"$T/verify.log" 2>&1 || fail "systemd-analyze verify: $(cat "$T/verify.log")"
  ok "systemd-analyze verify"
fi

# 3. --check-config on the shipped file: only the certificates and the secret are missing.
rc=0
env -u INTUNE_CLIENT_SECRET /usr/bin/intune-gate --check-config /etc/intune-gate/config.json >"$T/check.out" 2>&1 || rc=$?
expect_eq "--check-config status" "$rc" 2
grep '^config error: ' "$T/check.out" | cut -d: -f2 | sort >"$T/pointers"
expect_eq "--check-config names" "$(tr '\n' ' ' <"$T/pointers")" \
  " /intune/client_secret  /tls/certificate  /tls/client_ca  /tls/private_key "
grep -q "/etc/intune-gate/server.crt\|'server.crt'" "$T/check.out" || fail "the certificate's path is not named: $(cat "$T/check.out")"
grep -q 'INTUNE_CLIENT_SECRET' "$T/check.out" || fail "the secret's variable is not named: $(cat "$T/check.out")"
ok "--check-config fails only on the missing certificates and secret"

# 4. The installed binary, as the intune-gate user, on a test config against the emulator.
make_pki
start_emulator
start_upstream
U=$T/as-user
install -d -o intune-gate -g intune-gate -m 0750 "$U"
chmod 0711 "$T"
for f in server.crt server.key device-ca.crt server-ca.crt; do install -o intune-gate -m 0400 "$PKI/$f" "$U/$f"; done
write_config '{"intune": {"client_secret": {"env": "INTUNE_CLIENT_SECRET"}}}'
sed "s|$PKI/|$U/|g" "$T/gate.json" >"$U/gate.json"
chown intune-gate "$U/gate.json"
: >"$T/gate.log"
INTUNE_CLIENT_SECRET='demo-s3cret+/=&~ x' setpriv --reuid=intune-gate --regid=intune-gate --init-groups \
  /usr/bin/intune-gate --config "$U/gate.json" >"$T/gate.log" 2>&1 &
PIDS+=($!); GW_PID=$!
wait_for_line "$T/gate.log" '"msg":"listening"' 20 "$GW_PID" >/dev/null
expect_eq "gateway user" "$(ps -o user= -p "$GW_PID")" intune-gate
GW=https://127.0.0.1:$GW_PORT
expect_compliant_request "request through the installed gateway"
kill -HUP "$GW_PID"
wait_for_line "$T/gate.log" '"msg":"config reloaded"' 20 "$GW_PID" >/dev/null
ok "SIGHUP reloads (what systemctl reload sends)"
stop_gateway_and_check_log

# 5. Purge: nothing of the package is left; the user stays (README.Debian).
dpkg --purge intune-gate >"$T/dpkg.log" 2>&1 || fail "dpkg --purge: $(tail -n 20 "$T/dpkg.log")"
dpkg-query -W -f='${Status}' intune-gate 2>/dev/null | grep -q 'install ok' && fail "still installed after purge"
left=$(while read -r f; do [ "$f" = "/." ] || [ ! -e "$f" ] || [ -d "$f" ] || echo "$f"; done <"$T/files")
[ -z "$left" ] || fail "files left after purge: $left"
[ ! -e /etc/intune-gate ] || fail "/etc/intune-gate left after purge: $(ls -la /etc/intune-gate)"
dpkg-statoverride --list /etc/intune-gate >/dev/null 2>&1 && fail "the statoverride of /etc/intune-gate is left"
[ ! -e /var/lib/systemd/deb-systemd-helper-enabled/intune-gate.service.dsh-also ] || fail "systemd helper state left"
getent passwd intune-gate >/dev/null || fail "purge removed the intune-gate user (README.Debian says it stays)"
ok "purged: no file, conffile, folder or override left; the system user kept"
echo "PASS $TEST_NAME"
