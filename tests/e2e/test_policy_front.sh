#!/usr/bin/env bash
# Access policies on the mTLS front end (README: Access policies): a per-path policy; each
# requirement failing alone names itself in the JSON body and the HTML page; the adversarial path
# list (tests/fixtures/policy/adversarial_paths.tsv): what reaches the upstream is the normalised
# path, and no spelling steps around the policy; report mode; the access-log fields and metrics.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/policy_lib.sh"

make_pki
start_emulator
start_upstream
ADMIN_PORT=$(free_port)
write_config "{\"policies\": $POLICIES, \"admin\": {\"address\": \"127.0.0.1\", \"port\": $ADMIN_PORT},
               \"intune\": {\"save_device_properties\": false, \"save_installed_apps\": false,
                           \"cache\": {\"compliant_ttl_s\": 0, \"other_ttl_s\": 0}}}"
start_gateway
ADMIN=http://127.0.0.1:$ADMIN_PORT
DEV=3f2504e0-4f89-41d3-9a0c-0305e82c3301  # device-compliant

body_field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1].split(" ",1)[1]).get(sys.argv[2], ""))' "$1" "$2"; }

set_facts $DEV "$(good_facts)"

# A device meeting every requirement: forwarded with X-Intune-Policy; the rest of the site too.
r=$(raw_get compliant /admin/settings)
expect_eq "admin, good device: status" "${r%% *}" 200
expect_eq "admin, good device: X-Intune-Policy" \
  "$(python3 -c 'import json,sys; d=json.loads(sys.argv[1].split(" ",1)[1]); print([v for k,v in d["headers"] if k=="X-Intune-Policy"])' "$r")" "['admin']"
r=$(raw_get compliant /home)
expect_eq "rest: status" "${r%% *}" 200
# A client cannot bring its own X-Intune-Policy.
r=$(raw_get compliant /home "X-Intune-Policy: admin")
expect_eq "smuggled X-Intune-Policy replaced" \
  "$(python3 -c 'import json,sys; d=json.loads(sys.argv[1].split(" ",1)[1]); print([v for k,v in d["headers"] if k.lower()=="x-intune-policy"])' "$r")" "['rest']"

# Each requirement failing alone: 403 naming it, the upstream not reached.
old=$(python3 -c 'import datetime; print((datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=100)).strftime("%Y-%m-%dT%H:%M:%SZ"))')
while IFS='|' read -r requirement facts detail; do
  set_facts $DEV "$(good_facts)"
  set_facts $DEV "$facts"
  before=$(upstream_hits)
  r=$(raw_get compliant /admin/users?page=2)
  expect_eq "$requirement fails alone: status" "${r%% *}" 403
  expect_eq "$requirement fails alone: requirement" "$(body_field "$r" requirement)" "$requirement"
  expect_eq "$requirement fails alone: policy" "$(body_field "$r" policy)" admin
  case "$(body_field "$r" detail)" in *"$detail"*) ok "$requirement: detail";; *) fail "$requirement: detail $(body_field "$r" detail)";; esac
  want=Compliant; [ "$requirement" = outcomes ] && want=InGracePeriod
  expect_eq "$requirement fails alone: outcome unchanged" "$(body_field "$r" outcome)" $want
  expect_eq "$requirement fails alone: upstream not reached" "$(upstream_hits)" "$before"
  html=$(gw_curl compliant -H 'Accept: text/html' "$GW/admin")
  case "$html" in *"Access policy admin: $requirement"*|*"access policy admin: $requirement"*) ok "$requirement: page names it";;
    *) fail "$requirement: the HTML page does not name the requirement";; esac
done <<EOT
outcomes|{"complianceState": "inGracePeriod"}|InGracePeriod
os|{"osVersion": "10.0.19045.5131"}|Windows 10.0.19045.5131 is older than 10.0.22631
encrypted|{"isEncrypted": false}|not encrypted
jailbroken|{"jailBroken": "True"}|jailbroken
owner|{"managedDeviceOwnerType": "personal"}|owner personal
max_sync_age_h|{"lastSyncDateTime": "$old"}|100 hours ago
EOT

# Versions compare by number, not as text: macOS 14.10 is newer than 14.5.
set_facts $DEV "$(good_facts)"
set_facts $DEV '{"operatingSystem": "macOS", "osVersion": "14.10 (23Z100)"}'
r=$(raw_get compliant /admin)
expect_eq "macOS 14.10 against 14.5" "${r%% *}" 200

# Missing or unknown facts fail closed.
while IFS='|' read -r requirement facts; do
  set_facts $DEV "$(good_facts)"
  set_facts $DEV "$facts"
  r=$(raw_get compliant /admin)
  expect_eq "missing fact ($facts): denied by $requirement" "${r%% *} $(body_field "$r" requirement)" "403 $requirement"
done <<'EOT'
os|{"osVersion": null}
os|{"osVersion": "Unknown"}
os|{"operatingSystem": "Linux"}
encrypted|{"isEncrypted": null}
jailbroken|{"jailBroken": "Unknown"}
owner|{"managedDeviceOwnerType": "unknown"}
max_sync_age_h|{"lastSyncDateTime": "0001-01-01T00:00:00Z"}
EOT

# The adversarial list: with a device failing "admin" (old Windows), every spelling of an admin
# path is denied by "admin"; with a good device, the upstream gets the normalised path.
python3 - "$TOP/tests/fixtures/policy/adversarial_paths.tsv" >"$T/paths.txt" <<'PY'
import sys
group = "admin"
for line in open(sys.argv[1], encoding="utf-8", errors="surrogateescape"):
    line = line.rstrip("\n")
    if line in ("# refused", "# not under /admin"): group = line[2:]
    if not line or line.startswith("#"): continue
    target, expected = line.split("\t")
    print(group.split()[0] + "\t" + target + "\t" + expected)
PY
set_facts $DEV "$(good_facts)"
set_facts $DEV '{"osVersion": "10.0.19045.5131"}'
while IFS=$'\t' read -r group target expected; do
  r=$(raw_get compliant "$target")
  case $group in
    admin) expect_eq "old device, $target" "${r%% *} $(body_field "$r" policy)" "403 admin" ;;
    refused) expect_eq "refused: $target" "${r%% *}" 400 ;;
    not) expect_eq "not under /admin: $target" "${r%% *}" 200 ;;
  esac
done <"$T/paths.txt"
set_facts $DEV "$(good_facts)"
while IFS=$'\t' read -r group target expected; do
  [ "$group" = refused ] && continue
  r=$(raw_get compliant "$target?q=/../x")
  expect_eq "forwarded as: $target" "${r%% *} $(body_field "$r" target)" "200 $expected?q=/../x"
done <"$T/paths.txt"

# Absolute-form targets are read like origin-form ones; raw UTF-8 in the target is not HTTP.
set_facts $DEV '{"osVersion": "10.0.19045.5131"}'
for target in 'http://app.example.com/public/../admin' 'https://APP.example.com//%61dmin;x' 'http://app.example.com/public/..;/admin?x'; do
  r=$(raw_get compliant "$target")
  expect_eq "absolute-form $target" "${r%% *} $(body_field "$r" policy)" "403 admin"
done
r=$(raw_get compliant "$(printf '/\xc3\xa1dmin')")
expect_eq "raw UTF-8 in the path" "${r%% *}" 400

# Hosts: case, a trailing dot, a port, names below the wildcard all fit "ops" (denied by redirect,
# owner company); a host that is not a plain name is refused; the redirect stays on the site
# (return_url = the request's host and the normalised path, not a host a crafted path names).
set_facts $DEV "$(good_facts)"
for host in ops.example.com OPS.Example.COM ops.example.com. ops.example.com:8443 Ops.Example.Com.:443 \
            a.ops.example.com A.B.OPS.EXAMPLE.COM.; do
  r=$(RAW_HOST=$host raw_get compliant /home)
  expect_eq "host $host: ops redirects" "${r%% *}" 302
done
for host in 'ops.example.com..' 'ops%2eexample.com' "$(printf 'ops.ex\xd0\xb0mple.com')" '.ops.example.com'; do
  r=$(RAW_HOST=$host raw_get compliant /home)
  expect_eq "host $host: refused" "${r%% *}" 400
done
for host in example.com xops.example.com ops.example.com.evil.example ops.example.co; do
  r=$(RAW_HOST=$host raw_get compliant /home)
  expect_eq "host $host: not ops" "${r%% *}" 200
done
r=$(RAW_HOST=ops.example.com raw_get compliant 'https://ops.example.com./x' )
expect_eq "absolute-form with a host differing by its dot" "${r%% *}" 400
loc=$(curl -sS --max-time 10 -o /dev/null -w '%{redirect_url}' --path-as-is --cacert "$PKI/server-ca.crt" \
  --cert "$PKI/device-compliant.crt" --key "$PKI/device-compliant.key" -H 'Host: ops.example.com' \
  "https://localhost:$GW_PORT//evil.example/..;/x/%2e%2e/y")
back=$(python3 -c 'import sys, urllib.parse as u; q=u.parse_qs(u.urlsplit(sys.argv[1]).query); print(q["back"][0])' "$loc")
expect_eq "ops redirect: the portal" "${loc%%\?*}" "https://portal.example.com/fix"
expect_eq "ops redirect: return_url on the site, normalised" "$back" "https://ops.example.com/y"

# Report mode: nothing blocked, the failure in X-Intune-Policy-Failed, logged and counted.
set_facts $DEV '{"isEncrypted": false}'
r=$(raw_get compliant /watch/board)
expect_eq "report mode: forwarded" "${r%% *}" 200
expect_eq "report mode: headers" \
  "$(python3 -c 'import json,sys; d=json.loads(sys.argv[1].split(" ",1)[1]); h=dict(d["headers"]); print(h.get("X-Intune-Policy"), h.get("X-Intune-Policy-Failed"))' "$r")" "watch encrypted"
wait_for_line "$T/gate.log" '"policy":"watch","policy_result":"report".*"requirement":"encrypted"' 10 >/dev/null
ok "report mode: access-log fields"
wait_for_line "$T/gate.log" '"policy":"admin","policy_result":"deny".*"requirement":"os"' 10 >/dev/null
ok "deny: access-log fields"
expect_eq "metric: report" "$(admin_metric 'intune_gate_policy_results_total{policy="watch",result="report"}')" 1
expect_eq "metric: failures" "$(admin_metric 'intune_gate_policy_failures_total{policy="watch",requirement="encrypted"}')" 1
[ "$(admin_metric 'intune_gate_policy_results_total{policy="admin",result="allow"}')" != absent ] || fail "allow not counted"
# max_sync_age_h failed three times: the JSON and HTML requests of its row, and the never-synced one.
[ "$(admin_metric 'intune_gate_policy_failures_total{policy="admin",requirement="max_sync_age_h"}')" = 3 ] || fail "max_sync_age_h failures not counted (3)"
ok "metrics"
stop_gateway_and_check_log
