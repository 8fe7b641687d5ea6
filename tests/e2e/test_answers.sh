#!/usr/bin/env bash
# One answer on both faces (issue 22): the front end and the authorization endpoint of one gateway
# give the same answer for the same outcome. A redirect keeps its configured status (303, 308; on
# the nginx dialect 401 with the status in X-Intune-Status); {request_id} and {return_url} are
# filled on both (the endpoint takes the original URL from the proxy's X-Forwarded-* or
# X-Original-URI headers, and leaves the way back empty when they do not tell); a browser gets the
# HTML deny page from the endpoint too; and a lookup sends the request's ID to Graph as
# client-request-id from both.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_authz.sh"
AUTHZ_PORT=$(free_port)
start_all "{\"authz\": {\"address\": \"127.0.0.1\", \"port\": $AUTHZ_PORT, \"trusted_peers\": [\"127.0.0.1/32\"]},
  \"outcomes\": {
    \"NotCompliant\": {\"action\": \"redirect\", \"status\": 303,
                     \"location\": \"https://portal.example/blocked?id={request_id}&back={return_url}\"},
    \"StatusUnknown\": {\"action\": \"redirect\", \"status\": 308, \"location\": \"https://portal.example/\"}}}"
wait_for_line "$T/gate.log" '"msg":"authz listening"' 20 "$GW_PID" >/dev/null
AUTHZ=http://127.0.0.1:$AUTHZ_PORT
BROWSER='text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8'
enc() { python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"; }
# as_guid ID: X-Request-Id's 32 hex digits as Graph's client-request-id.
as_guid() { echo "${1:0:8}-${1:8:4}-${1:12:4}-${1:16:4}-${1:20:12}"; }

# --- the redirect's configured status ------------------------------------------------------------
status=$(gw_curl noncompliant -o /dev/null -D "$T/f.head" -w '%{http_code}' "$GW/app/start?x=1")
expect_eq "front end: redirect status 303" "$status" 303
status=$(gw_curl unknown -o /dev/null -D "$T/u.head" -w '%{http_code}' "$GW/")
expect_eq "front end: redirect status 308" "$status" 308
expect_eq "front end: 308 location" "$(header_of "$T/u.head" Location)" https://portal.example/
status=$(authz_check "$T/a" -H "Client-Cert: $(cert_header der unknown)" "$AUTHZ/authz")
expect_eq "endpoint: redirect status 308" "$status" 308
status=$(authz_check "$T/a" -H "Client-Cert: $(cert_header der unknown)" "$AUTHZ/authz/nginx")
expect_eq "nginx dialect: redirect is 401" "$status" 401
expect_eq "nginx dialect: configured status in X-Intune-Status" "$(header_of "$T/a.head" X-Intune-Status)" 308

# --- placeholders ----------------------------------------------------------------------------------
rid=$(header_of "$T/f.head" X-Request-Id)
expect_eq "front end: placeholders filled" "$(header_of "$T/f.head" Location)" \
  "https://portal.example/blocked?id=$rid&back=$(enc "https://127.0.0.1:$GW_PORT/app/start?x=1")"

# Caddy and Traefik: X-Forwarded-Proto/-Host/-Uri.
status=$(authz_check "$T/a" -H "Client-Cert: $(cert_header der noncompliant)" -H 'X-Forwarded-Proto: https' \
  -H 'X-Forwarded-Host: app.example.com' -H 'X-Forwarded-Uri: /app/start?x=1&y=%2F' "$AUTHZ/authz")
expect_eq "endpoint: redirect status 303" "$status" 303
rid=$(header_of "$T/a.head" X-Request-Id)
expect_eq "endpoint: placeholders filled from X-Forwarded-*" "$(header_of "$T/a.head" Location)" \
  "https://portal.example/blocked?id=$rid&back=$(enc 'https://app.example.com/app/start?x=1&y=%2F')"
# nginx: X-Original-URI and the host it sends (conf/plugin/nginx.conf: X-Forwarded-Host).
authz_check "$T/a" -H "Client-Cert: $(cert_header der noncompliant)" -H 'X-Forwarded-Host: app.example.com:8443' \
  -H 'X-Original-URI: /portal/x' "$AUTHZ/authz/nginx" >/dev/null
rid=$(header_of "$T/a.head" X-Request-Id)
expect_eq "nginx dialect: placeholders filled from X-Original-URI" "$(header_of "$T/a.head" Location)" \
  "https://portal.example/blocked?id=$rid&back=$(enc 'https://app.example.com:8443/portal/x')"
expect_eq "nginx dialect: X-Intune-Status 303" "$(header_of "$T/a.head" X-Intune-Status)" 303
# The original URL unknown (no target), or not the https one: the request ID still, the way back empty.
authz_check "$T/a" -H "Client-Cert: $(cert_header der noncompliant)" "$AUTHZ/authz" >/dev/null
rid=$(header_of "$T/a.head" X-Request-Id)
expect_eq "endpoint: unknown original URL" "$(header_of "$T/a.head" Location)" "https://portal.example/blocked?id=$rid&back="
authz_check "$T/a" -H "Client-Cert: $(cert_header der noncompliant)" -H 'X-Forwarded-Proto: http' \
  -H 'X-Forwarded-Host: app.example.com' -H 'X-Forwarded-Uri: /' "$AUTHZ/authz" >/dev/null
rid=$(header_of "$T/a.head" X-Request-Id)
expect_eq "endpoint: plain-http original URL not used" "$(header_of "$T/a.head" Location)" \
  "https://portal.example/blocked?id=$rid&back="
# Hostile forwarded values never reach Location raw.
authz_check "$T/a" -H "Client-Cert: $(cert_header der noncompliant)" -H 'X-Forwarded-Host: evil.example/x?' \
  -H 'X-Forwarded-Uri: /a"<b>' "$AUTHZ/authz" >/dev/null
case "$(header_of "$T/a.head" Location)" in *'<'*|*'"'*|*evil*) fail "hostile forwarded values in Location";; esac
ok "hostile forwarded values stay out of Location"

# --- the deny page for a browser -----------------------------------------------------------------
for face in front endpoint; do
  if [ $face = front ]; then
    status=$(gw_curl conflict -o "$T/p.body" -D "$T/p.head" -w '%{http_code}' -H "Accept: $BROWSER" "$GW/")
  else
    status=$(authz_check "$T/p" -H "Client-Cert: $(cert_header der conflict)" -H "Accept: $BROWSER" "$AUTHZ/authz")
  fi
  expect_eq "$face: browser reject status" "$status" 409
  expect_eq "$face: HTML deny page" "$(header_of "$T/p.head" Content-Type)" "text/html; charset=utf-8"
  rid=$(header_of "$T/p.head" X-Request-Id)
  grep -q "<code>$rid</code>" "$T/p.body" || fail "$face: the page does not show the request ID $rid"
  grep -q "HTTP 409" "$T/p.body" || fail "$face: the page does not show the status"
  expect_eq "$face: page not cached" "$(header_of "$T/p.head" Cache-Control)" no-store
  [ -n "$(header_of "$T/p.head" Content-Security-Policy)" ] || fail "$face: no Content-Security-Policy"
done
expect_eq "endpoint: the page still names the outcome" "$(header_of "$T/p.head" X-Intune-Outcome)" Conflict
status=$(authz_check "$T/p" -H "Client-Cert: $(cert_header der conflict)" -H 'Accept: application/json' "$AUTHZ/authz")
expect_eq "endpoint: JSON for an API client" "$(json_get "$T/p.body" 'd["outcome"]')" Conflict

# --- client-request-id -----------------------------------------------------------------------------
# Devices not looked up yet: each face's lookup carries its own request's ID to Graph.
gw_curl ingraceperiod -o "$T/c.body" "$GW/"  # forwarded: the upstream saw the request's X-Request-Id
guid=$(as_guid "$(json_get "$T/c.body" 'h("X-Request-Id")')")
wait_for_line "$T/emulator.log" "GET /v1.0/deviceManagement/managedDevices/.* 200 client-request-id=$guid" 10 >/dev/null
ok "front end: client-request-id $guid reached Graph"
authz_check "$T/c" -H "Client-Cert: $(cert_header der configmanager)" "$AUTHZ/authz" >/dev/null
guid=$(as_guid "$(header_of "$T/c.head" X-Request-Id)")
wait_for_line "$T/emulator.log" "GET /v1.0/deviceManagement/managedDevices/.* 200 client-request-id=$guid" 10 >/dev/null
ok "endpoint: client-request-id $guid reached Graph"

stop_gateway_and_check_log
echo "PASS $TEST_NAME"
