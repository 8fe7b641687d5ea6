#!/usr/bin/env bash
# Entra ID device IDs (README `device_id.lookup`, docs/configuration.md): a certificate carrying the Entra ID
# device ID in its SAN URI or its CN is looked up through managedDevices?$filter=azureADDeviceId eq
# '{id}'; the upstream gets X-Intune-Managed-Device-Id; `either` asks Intune first, then the filter;
# a filter Graph ignored (every device) or two devices for one ID are outcome Error, never the
# first device.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/redis_lib.sh"

make_pki
EMU_ARGS="--synthetic-devices 40" start_emulator
start_upstream
entra_id() { printf 'ad000000-0000-4000-8000-%012x' "$1"; }

# entra_cert NAME SUBJECT [ID]: a device certificate by the device CA, with SAN URI IntuneDeviceId://ID when given.
entra_cert() {
  local san=()
  [ -z "${3:-}" ] || san=(-addext "subjectAltName=URI:IntuneDeviceId://$3")
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$PKI/device-$1.key" \
    -out "$PKI/device-$1.crt" -subj "$2" -days 10 -CA "$PKI/device-ca.crt" -CAkey "$PKI/device-ca.key" \
    -addext "basicConstraints=critical,CA:FALSE" -addext "keyUsage=critical,digitalSignature" \
    -addext "extendedKeyUsage=clientAuth" "${san[@]}" 2>/dev/null
}
# Upper case on purpose: Graph's azureADDeviceId is compared case-insensitively.
entra_cert entra-san "/O=intune-gate demo/CN=laptop-7" "$(entra_id 7 | tr a-f A-F)"
entra_cert entra-cn "/O=intune-gate demo/CN=$(entra_id 9)"
# Both kinds of ID: Intune's in the SAN URI (device 6, compliant), an Entra ID in the CN (device 9).
entra_cert both "/O=intune-gate demo/CN=$(entra_id 9)" "$(syn_id 6)"
# Two different IDs under the SAN URI scheme (which is which cannot be told).
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$PKI/device-two.key" \
  -out "$PKI/device-two.crt" -subj "/O=intune-gate demo/CN=$(entra_id 5)" -days 10 -CA "$PKI/device-ca.crt" \
  -CAkey "$PKI/device-ca.key" -addext "basicConstraints=critical,CA:FALSE" \
  -addext "keyUsage=critical,digitalSignature" -addext "extendedKeyUsage=clientAuth" \
  -addext "subjectAltName=URI:IntuneDeviceId://$(syn_id 3),URI:IntuneDeviceId://$(entra_id 5)" 2>/dev/null

IDS='"device_id": {"sources": ["san_uri", "subject_cn", "header"], "trusted_peers": ["127.0.0.1/32"], "lookup": "%s"}'
start_instance E "{$(printf "$IDS" entra), \"intune\": {\"save_installed_apps\": false, \"timeout_ms\": 3000}}"
start_instance X "{$(printf "$IDS" either), \"intune\": {\"save_installed_apps\": false, \"timeout_ms\": 3000}}"
stat() { emu_ctl GET /_emulator/stats | jq ".$1 // 0"; }

# 1. By SAN URI: the filter finds synthetic device 7 (compliant).
emu_ctl POST /_emulator/reset >/dev/null
gw_curl entra-san -o "$T/san.json" -w '%{http_code}' "$GW_E/login" >"$T/san.status"
expect_eq "Entra ID in the SAN URI: forwarded" "$(cat "$T/san.status")" 200
expect_eq "upstream: outcome" "$(json_get "$T/san.json" 'h("X-Intune-Outcome")')" Compliant
expect_eq "upstream: the certificate's ID" "$(json_get "$T/san.json" 'h("X-Intune-Device-Id")')" "$(entra_id 7)"
expect_eq "upstream: Intune's id for it" "$(json_get "$T/san.json" 'h("X-Intune-Managed-Device-Id")')" "$(syn_id 7)"
expect_eq "one filter request" "$(stat filter_requests)" 1
expect_eq "the filter Graph got" "$(stat 'filters[-1]')" "\"azureADDeviceId eq '$(entra_id 7)'\""
expect_eq "no read by Intune id" "$(stat 'device_requests | length')" 0
gw_curl entra-san -o /dev/null "$GW_E/again"
expect_eq "cached under the certificate's ID: no second filter request" "$(stat filter_requests)" 1

# 2. By CN: synthetic device 9 is noncompliant (redirected to the portal).
expect_eq "Entra ID in the CN: NotCompliant" \
  "$(gw_curl entra-cn -o /dev/null -w '%{http_code}' "$GW_E/login")" 302

# 3. A filter Graph ignores (every device, paged) and two devices for one Entra ID: Error, not the first device.
emu_ctl POST /_emulator/reset >/dev/null
emu_ctl POST /_emulator/fault/list '{"ignore_filter": true, "times": 1}' >/dev/null
dev_curl "$GW_E" "$(entra_id 0)" -o "$T/ign.body" -w '%{http_code}' >"$T/ign.status"
expect_eq "ignored filter: the Error outcome" "$(cat "$T/ign.status")" 503
expect_eq "ignored filter: one filter request" "$(stat filter_requests)" 1
grep "$(entra_id 0)" "$T/gate-E.log" | grep -q '"reason":"ambiguous Entra device ID: [0-9]* devices for one Entra device ID"' \
  || fail "ignored filter not logged as ambiguous"
emu_ctl POST /_emulator/fault/list '{"duplicate": true, "times": 1}' >/dev/null
expect_eq "two devices for one Entra ID: the Error outcome" \
  "$(dev_curl "$GW_E" "$(entra_id 1)" -o /dev/null -w '%{http_code}')" 503
grep "$(entra_id 1)" "$T/gate-E.log" | grep -q '"reason":"ambiguous Entra device ID: 2 devices for one Entra device ID"' \
  || fail "duplicate not logged as ambiguous"
expect_eq "an Entra ID no device has: device_not_found (NotCompliant)" \
  "$(dev_curl "$GW_E" ad000000-0000-4000-8000-0000000fffff -o /dev/null -w '%{http_code}')" 302

# 4. either: an Intune ID is read directly; an Entra ID after Intune's 404, through the filter.
emu_ctl POST /_emulator/reset >/dev/null
expect_eq "either, Intune ID: forwarded" "$(dev_curl "$GW_X" "$(syn_id 3)" -o /dev/null -w '%{http_code}')" 200
expect_eq "either, Intune ID: one read, no filter" "$(stat "device_requests[\"$(syn_id 3)\"]"),$(stat filter_requests)" 1,0
dev_curl "$GW_X" "$(entra_id 4)" -o "$T/x.json" -w '%{http_code}' >"$T/x.status"
expect_eq "either, Entra ID: forwarded" "$(cat "$T/x.status")" 200
expect_eq "either, Entra ID: Intune first (404), then the filter" \
  "$(stat "device_requests[\"$(entra_id 4)\"]"),$(stat filter_requests)" 1,1
expect_eq "either, Entra ID: Intune's id upstream" "$(json_get "$T/x.json" 'h("X-Intune-Managed-Device-Id")')" "$(syn_id 4)"
# 5. Hostile IDs. A quote in the ID cannot end the filter's literal: only a GUID is an ID (no
# lookup, NoId = 401 here). Two different IDs under the SAN URI scheme: no ID, no lookup. A
# certificate with Intune's ID in the SAN URI and another device's Entra ID in the CN: the
# configured source order decides (san_uri first), the CN is not looked up.
emu_ctl POST /_emulator/reset >/dev/null
for hostile in "$(entra_id 1)' or azureADDeviceId ne '" "' or 1 eq 1 or azureADDeviceId eq '" "$(entra_id 1)''"; do
  expect_eq "quote in the ID ($hostile): no ID" "$(dev_curl "$GW_E" "$hostile" -o /dev/null -w '%{http_code}')" 401
done
expect_eq "two SAN URI IDs: no ID" "$(gw_curl two -o /dev/null -w '%{http_code}' "$GW_X/login")" 401
expect_eq "hostile IDs: Graph asked nothing" "$(stat filter_requests),$(stat 'device_requests | length')" 0,0
gw_curl both -o "$T/both.json" -w '%{http_code}' "$GW_X/login" >"$T/both.status"
expect_eq "SAN URI and CN disagree: the SAN URI decides" "$(cat "$T/both.status")" 200
expect_eq "upstream: the SAN URI's ID" "$(json_get "$T/both.json" 'h("X-Intune-Device-Id")')" "$(syn_id 6)"
expect_eq "SAN URI and CN disagree: one read of the SAN's ID, no filter" \
  "$(stat "device_requests[\"$(syn_id 6)\"]"),$(stat 'device_requests | length'),$(stat filter_requests)" 1,1,0

# 6. The sync keeps verdicts under the Entra IDs too, but not an Entra ID two devices claim (the
# twin is listed before device 7): that one goes to the filter, which is ambiguous too: Error.
twin=7e000000-0000-4000-8000-000000000007
emu_ctl PUT "/_emulator/devices/$twin" \
  "{\"complianceState\":\"compliant\",\"managementAgent\":\"mdm\",\"azureADDeviceId\":\"$(entra_id 7)\"}" >/dev/null
start_instance S "{$(printf "$IDS" either), \"intune\": {\"save_installed_apps\": false, \"timeout_ms\": 3000,
  \"sync\": {\"interval_s\": 3600, \"page_size\": 16}}}"
wait_for_line "$T/gate-S.log" '"msg":"device sync done"' 30 >/dev/null
emu_ctl POST /_emulator/reset >/dev/null
expect_eq "synced Entra ID: forwarded" "$(dev_curl "$GW_S" "$(entra_id 5)" -o /dev/null -w '%{http_code}')" 200
expect_eq "synced Entra ID: Graph asked nothing" "$(stat filter_requests),$(stat 'device_requests | length')" 0,0
expect_eq "an Entra ID two synced devices claim: the Error outcome" \
  "$(dev_curl "$GW_S" "$(entra_id 7)" -o /dev/null -w '%{http_code}')" 503
expect_eq "it was asked of Graph (Intune, then the filter)" "$(stat filter_requests)" 1
echo "PASS $TEST_NAME"
