# Helpers for the access-policy end-to-end tests (README: Access policies): the policies they run
# with, device facts set in the emulator, and a raw request sender for paths curl would clean up.

# The policies of the tests: "ops" on the hosts ops.example.com and below (a company device fails
# it: owner; denied by a redirect), "admin" (every requirement) on /admin and /api/admin/, "watch" (the same, report mode)
# on /watch, "rest" (Compliant or InGracePeriod) for everything else.
POLICIES='[
 {"name": "ops", "match": {"hosts": ["ops.example.com", "*.ops.example.com"]}, "require": {"owner": ["personal"]},
  "deny": {"action": "redirect", "location": "https://portal.example.com/fix?back={return_url}"}},
 {"name": "admin", "match": {"paths": ["/admin", "/api/admin/"]},
  "require": {"outcomes": ["Compliant"],
              "os": {"Windows": "10.0.22631", "macOS": "14.5", "iOS": "17.5", "Android": "14"},
              "encrypted": true, "jailbroken": false, "owner": ["company"], "max_sync_age_h": 72},
  "deny": {"action": "reject", "status": 403, "help": "Admin pages need a company device <b>up to date</b>.",
           "help_url": "https://help.example.com/devices"}},
 {"name": "watch", "match": {"paths": ["/watch"]}, "mode": "report",
  "require": {"os": {"Windows": "10.0.22631"}, "encrypted": true, "jailbroken": false, "owner": ["company"],
              "max_sync_age_h": 72}},
 {"name": "rest", "require": {"outcomes": ["Compliant", "InGracePeriod"]}}
]'

# The tests run with the verdict cache off ("cache": {"compliant_ttl_s": 0, "other_ttl_s": 0}): every
# request reads the facts set_facts just gave the emulator (the help desk's refresh is rate-limited
# per device, too slow for this many changes).

# set_facts DEVICE_ID JSON: the device in the emulator is good_facts (below) with JSON's keys
# replacing its own (null: Graph gives null).
set_facts() {
  local device
  device=$(python3 -c 'import json, sys; d = json.loads(sys.argv[1]); d.update(json.loads(sys.argv[2])); print(json.dumps(d))' \
    "$(good_facts)" "$2")
  emu_ctl PUT "/_emulator/devices/$1" "$device" >/dev/null
}

# good_facts: what meets every requirement of "admin" (a Windows PC that checked in an hour ago).
good_facts() {
  python3 -c '
import datetime, json
t = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1)
print(json.dumps({"complianceState": "compliant", "operatingSystem": "Windows", "osVersion": "10.0.22631.4460",
                  "isEncrypted": True, "jailBroken": "False", "managedDeviceOwnerType": "company",
                  "lastSyncDateTime": t.strftime("%Y-%m-%dT%H:%M:%S.1234567Z")}))'
}

# raw_get DEVICE TARGET [EXTRA_HEADER]: one GET with TARGET sent byte for byte over mTLS (Host:
# $RAW_HOST, default app.example.com); prints "<status> <body>" on one line.
raw_get() {
  python3 - "$GW_PORT" "$PKI" "$1" "$2" "${3:-}" "${RAW_HOST:-app.example.com}" <<'PY'
import socket, ssl, sys
port, pki, device, target, extra, host = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
ctx = ssl.create_default_context(cafile=pki + "/server-ca.crt")
if device:
    ctx.load_cert_chain(pki + "/device-" + device + ".crt", pki + "/device-" + device + ".key")
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="localhost")
req = "GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n"
if extra: req += extra + "\r\n"
s.sendall((req + "\r\n").encode("utf-8", "surrogateescape"))
s.settimeout(10)
out = b""
try:
    while True:
        chunk = s.recv(65536)
        if not chunk: break
        out += chunk
except (socket.timeout, ssl.SSLError, ConnectionResetError):
    pass
head, _, body = out.partition(b"\r\n\r\n")
status = head.split(b" ")[1].decode() if head.startswith(b"HTTP/") else "none"
print(status, body.decode("latin-1").replace("\n", " ").strip())
PY
}
