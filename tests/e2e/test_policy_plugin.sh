#!/usr/bin/env bash
# Access policies in plugin mode (README: Access policies), behind the real nginx auth_request and
# Caddy forward_auth with the shipped configurations: the original request from X-Original-URI /
# X-Forwarded-Uri and X-Forwarded-Host; a per-path policy allowing and denying; spellings of the
# admin path that the proxy passes on as they are (the application reads them as /admin) denied
# too; report mode; a check that does not say what it is about: 403 "original request unknown".
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_authz.sh"
source "$(dirname "$0")/policy_lib.sh"
command -v nginx >/dev/null || fail "nginx is not installed (scripts/build.sh installs it)"
command -v caddy >/dev/null || fail "caddy is not installed (scripts/build.sh installs it)"
start_authz_gateway "{\"policies\": $POLICIES, \"intune\": {\"cache\": {\"compliant_ttl_s\": 0, \"other_ttl_s\": 0}}}"
start_nginx
start_caddy
DEV=3f2504e0-4f89-41d3-9a0c-0305e82c3301  # device-compliant

for proxy in nginx caddy; do
  origin=$NGX; [ $proxy = caddy ] && origin=$CADDY
  set_facts $DEV "$(good_facts)"
  before=$(upstream_hits)
  status=$(proxy_curl "$origin" compliant -o "$T/p.body" -w '%{http_code}' "$origin/admin/users?x=1")
  expect_eq "$proxy good device: status" "$status" 200
  expect_eq "$proxy good device: X-Intune-Policy" "$(json_get "$T/p.body" 'h("X-Intune-Policy")')" admin
  expect_eq "$proxy good device: upstream hit" "$(( $(upstream_hits) - before ))" 1

  set_facts $DEV '{"osVersion": "10.0.19045.5131"}'
  for path in /admin/users '/public/..;/admin' '/%61dmin/x' '//admin' '/admin;jsessionid=1' '/api/admin/x'; do
    before=$(upstream_hits)
    status=$(proxy_curl "$origin" compliant --path-as-is -o "$T/p.body" -w '%{http_code}' "$origin$path")
    expect_eq "$proxy old device $path: denied" "$status" 403
    expect_eq "$proxy old device $path: upstream untouched" "$(upstream_hits)" "$before"
  done
  status=$(proxy_curl "$origin" compliant -o /dev/null -w '%{http_code}' "$origin/home")
  expect_eq "$proxy old device, rest of the site: status" "$status" 200

  # Report mode: forwarded, the failure named for the application.
  status=$(proxy_curl "$origin" compliant -o "$T/p.body" -w '%{http_code}' "$origin/watch")
  expect_eq "$proxy report mode: status" "$status" 200
  expect_eq "$proxy report mode: headers" \
    "$(json_get "$T/p.body" 'h("X-Intune-Policy")') $(json_get "$T/p.body" 'h("X-Intune-Policy-Failed")')" "watch os"
done
wait_for_line "$T/gate.log" '"path":"/authz/nginx".*"policy":"admin","policy_result":"deny".*"requirement":"os"' 10 >/dev/null
ok "access log: policy fields on the nginx checks"
expect_eq "metric: admin denials" "$(metric 'intune_gate_policy_failures_total{policy="admin",requirement="os"}')" 12

# The whole adversarial list (tests/fixtures/policy/adversarial_paths.tsv) through the endpoint,
# as X-Forwarded-Uri: every spelling of an admin path denied by "admin" (old Windows), every refused
# one 403 "path not accepted", the rest allowed by "rest".
cert=$(cert_header der compliant)
group=admin
while IFS= read -r line; do
  case $line in "# refused") group=refused; continue;; "# not under /admin") group=not; continue;; \#*|"") continue;; esac
  target=${line%%$'\t'*}
  status=$(authz_check "$T/a" -H "Client-Cert: $cert" -H 'X-Forwarded-Host: app.example.com' \
    -H "X-Forwarded-Uri: $target" "$AUTHZ/authz")
  case $group in
    admin) expect_eq "endpoint, old device, $target" "$status $(json_get "$T/a.body" 'd.get("policy")')" "403 admin" ;;
    refused) expect_eq "endpoint, refused: $target" "$status $(json_get "$T/a.body" 'd.get("reason")')" "403 path not accepted" ;;
    not) expect_eq "endpoint, not under /admin: $target" "$status" 200 ;;
  esac
done <"$TOP/tests/fixtures/policy/adversarial_paths.tsv"
# Raw UTF-8 is read as its percent-encoding (not /admin); the original host as the front end reads it.
status=$(authz_check "$T/a" -H "Client-Cert: $cert" -H 'X-Forwarded-Host: app.example.com' \
  -H "X-Forwarded-Uri: $(printf '/\xc3\xa1dmin')" "$AUTHZ/authz")
expect_eq "endpoint, raw UTF-8 path" "$status" 200
set_facts $DEV "$(good_facts)"
for host in OPS.Example.COM. ops.example.com:443 a.ops.example.com; do
  status=$(authz_check "$T/a" -H "Client-Cert: $cert" -H "X-Forwarded-Host: $host" -H 'X-Forwarded-Uri: /home' "$AUTHZ/authz")
  expect_eq "endpoint, host $host: ops redirects" "$status" 302
done
for host in 'ops.example.com..' 'ops%2eexample.com'; do
  status=$(authz_check "$T/a" -H "Client-Cert: $cert" -H "X-Forwarded-Host: $host" -H 'X-Forwarded-Uri: /home' "$AUTHZ/authz")
  expect_eq "endpoint, host $host: refused" "$status" 403
done
set_facts $DEV '{"osVersion": "10.0.19045.5131"}'

# A check without the original request: 403, no lookup.
cert=$(cert_header der compliant)
status=$(authz_check "$T/c" -H "Client-Cert: $cert" "$AUTHZ/authz/nginx")
expect_eq "no X-Original-URI: status" "$status" 403
expect_eq "no X-Original-URI: reason" "$(json_get "$T/c.body" 'd["reason"]')" "original request unknown"
status=$(authz_check "$T/c" -H "Client-Cert: $cert" -H 'X-Forwarded-Host: a.example.com, b.example.com' \
  -H 'X-Forwarded-Uri: /admin' "$AUTHZ/authz")
expect_eq "two X-Forwarded-Host values: unknown" "$status $(json_get "$T/c.body" 'd["reason"]')" "403 original request unknown"
status=$(authz_check "$T/c" -H "Client-Cert: $cert" -H 'X-Forwarded-Uri: /admin' "$AUTHZ/authz")
expect_eq "X-Forwarded-Uri given: checked" "$status" 403
expect_eq "X-Forwarded-Uri given: by the policy" "$(json_get "$T/c.body" 'd["policy"]')" admin
status=$(authz_check "$T/c" -H "Client-Cert: $cert" "$AUTHZ/authz/public/..;/admin")
expect_eq "Envoy path after /authz: checked" "$(json_get "$T/c.body" 'd.get("policy")')" admin
status=$(authz_check "$T/c" -H "Client-Cert: $cert" -H 'X-Original-URI: /admin%2fx' "$AUTHZ/authz/nginx")
expect_eq "encoded slash: status" "$status" 403
expect_eq "encoded slash: reason" "$(json_get "$T/c.body" 'd["reason"]')" "path not accepted"
echo "PASS $TEST_NAME"
