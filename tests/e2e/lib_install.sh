# Helpers of the tests that install things (packages, the Debian package, the image). Source after lib.sh.

# ensure_packages PKG...: installs the Debian packages that are missing (apt-get, as root), without
# letting any of them start a service: a policy-rc.d that forbids it is in place during the install
# (Debian's invoke-rc.d and deb-systemd-invoke ask it). Not root and something missing: the test fails
# naming what to install.
ensure_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  [ "$(id -u)" -eq 0 ] || fail "needs the Debian packages ${missing[*]} (bash scripts/build.sh installs them)"
  echo "installing: ${missing[*]}"
  local own_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\n# no service starts while a test installs packages\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 0755 /usr/sbin/policy-rc.d
    own_policy=1
  fi
  local rc=0
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; } \
    >"$T/apt.log" 2>&1 || rc=$?
  [ $own_policy -eq 0 ] || rm -f /usr/sbin/policy-rc.d
  [ $rc -eq 0 ] || fail "apt-get install ${missing[*]}: $(tail -n 5 "$T/apt.log")"
}

# expect_compliant_request WHAT: a compliant device's request to $GW reaches the upstream with its
# outcome (the installed binary, the container: the same journey).
expect_compliant_request() {
  local before status
  before=$(upstream_hits)
  status=$(gw_curl compliant -o "$T/r.body" -w '%{http_code}' "$GW/app") || fail "$1: curl failed"
  expect_eq "$1: status" "$status" 200
  expect_eq "$1: upstream reached" "$(( $(upstream_hits) - before ))" 1
  expect_eq "$1: outcome at the upstream" "$(json_get "$T/r.body" 'h("X-Intune-Outcome")')" Compliant
}
