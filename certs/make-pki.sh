#!/usr/bin/env bash
# Makes the demo/test PKI (ECDSA P-256; the app certificate RSA) into DIR:   bash certs/make-pki.sh DIR
#
#   device-ca, other-ca, server-ca          CAs (.crt/.key)
#   server                                  CN=localhost, SAN DNS:localhost + IP:127.0.0.1, by server-ca
#   server-wrong-name                       by server-ca for wrong-name.example only
#   intune-app                              self-signed RSA 2048: the app registration's certificate
#                                           (Entra ID accepts certificate credentials with RSA keys only)
#   device-<name>                           client certificates, by device-ca unless noted
#                                           (device-sha1: signed with SHA-1, a weak signature;
#                                           device-server-only: serverAuth only, no clientAuth;
#                                           device-wrong-scheme: SAN URI Other://<guid>)
#   device-ca.crl                           the device CA's CRL; it revokes device-revoked
#   device-expired, device-not-yet-valid    outside their validity period
#
# Idempotent: a file that exists is kept, a missing one is made. When a CA has to be (re)made,
# everything it signed is made again too, so the set always fits together.
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 DIR" >&2
  exit 2
fi
mkdir -p "$1"
dir=$(cd "$1" && pwd)

# Several tests may make the same folder at once: one at a time.
exec 9>"$dir/.make-pki.lock"
flock 9

days=3650
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Runs a command quietly; shows its output only when it fails.
quiet() { "$@" >"$work/log" 2>&1 || { cat "$work/log" >&2; return 1; }; }

have() { [ -s "$dir/$1.crt" ] && [ -s "$dir/$1.key" ]; }

# make_cert NAME SUBJECT ISSUER|self [-addext ...]...   (key: $newkey, ECDSA P-256 unless set)
make_cert() {
  local name=$1 subject=$2 issuer=$3
  shift 3
  local signer=() key=(${newkey:--newkey ec -pkeyopt ec_paramgen_curve:P-256})
  [ "$issuer" = self ] || signer=(-CA "$dir/$issuer.crt" -CAkey "$dir/$issuer.key")
  quiet openssl req -x509 -new "${key[@]}" -nodes -utf8 \
    -keyout "$work/$name.key" -out "$work/$name.crt" -subj "$subject" -days "$days" \
    -set_serial "0x$(openssl rand -hex 16)" "${signer[@]}" "$@"
  chmod 600 "$work/$name.key"
  mv "$work/$name.key" "$dir/$name.key"
  mv "$work/$name.crt" "$dir/$name.crt"
  echo "made $name"
}

ca_ext=(-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign")
client_ext=(-addext "basicConstraints=critical,CA:FALSE" -addext "keyUsage=critical,digitalSignature"
            -addext "extendedKeyUsage=clientAuth")

# make_ca NAME SUBJECT DEPENDENT_GLOB: a new CA invalidates what it signed.
make_ca() {
  local name=$1 subject=$2 dependents=$3
  have "$name" && return 0
  # shellcheck disable=SC2086
  rm -f $dependents
  make_cert "$name" "$subject" self "${ca_ext[@]}"
}

make_ca device-ca "/O=intune-gate demo/CN=Demo Intune Device CA" \
  "$dir/device-[!o]*.crt $dir/device-ca.crl"   # every device cert but device-other-ca
make_ca other-ca "/O=intune-gate demo/CN=Unrelated CA" "$dir/device-other-ca.crt"
make_ca server-ca "/O=intune-gate demo/CN=Demo Server CA" "$dir/server.crt $dir/server-wrong-name.crt"

have server || make_cert server "/O=intune-gate demo/CN=localhost" server-ca \
  -addext "basicConstraints=critical,CA:FALSE" -addext "keyUsage=critical,digitalSignature" \
  -addext "extendedKeyUsage=serverAuth" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1"

# From the right CA but for another name: host-name verification must refuse it.
have server-wrong-name || make_cert server-wrong-name "/O=intune-gate demo/CN=wrong-name.example" server-ca \
  -addext "basicConstraints=critical,CA:FALSE" -addext "keyUsage=critical,digitalSignature" \
  -addext "extendedKeyUsage=serverAuth" -addext "subjectAltName=DNS:wrong-name.example"

# An EC app certificate from an older run of this script is replaced: Entra ID would refuse it.
if have intune-app && ! openssl pkey -in "$dir/intune-app.key" -noout -text 2>/dev/null | grep -q '^modulus'; then
  rm -f "$dir/intune-app.crt" "$dir/intune-app.key"
fi
have intune-app || newkey="-newkey rsa:2048" make_cert intune-app "/O=intune-gate demo/CN=intune-gate app registration" self \
  -addext "basicConstraints=critical,CA:FALSE" -addext "keyUsage=critical,digitalSignature"

# device NAME GUID-or-URI-ID: a device certificate with SAN URI IntuneDeviceId://<id>, by device-ca.
device() {
  have "device-$1" && return 0
  make_cert "device-$1" "/O=intune-gate demo/CN=device-$1" device-ca "${client_ext[@]}" \
    -addext "subjectAltName=URI:IntuneDeviceId://$2"
}

device compliant     3F2504E0-4F89-41D3-9A0C-0305E82C3301   # upper case on purpose
device noncompliant  3f2504e0-4f89-41d3-9a0c-0305e82c3302
device ingraceperiod 3f2504e0-4f89-41d3-9a0c-0305e82c3303
device configmanager 3f2504e0-4f89-41d3-9a0c-0305e82c3304
device conflict      3f2504e0-4f89-41d3-9a0c-0305e82c3305
device unknown       3f2504e0-4f89-41d3-9a0c-0305e82c3306
device error         3f2504e0-4f89-41d3-9a0c-0305e82c3307
device notfound      3f2504e0-4f89-41d3-9a0c-0305e82c3308
device newstate      3f2504e0-4f89-41d3-9a0c-0305e82c330a
device not-guid      3f2504e0-4f89-41d3-9a0c-0305e82c33zz   # GUID-shaped, not hex: reaches the hex check
device revoked       3f2504e0-4f89-41d3-9a0c-0305e82c3301

have device-noid || make_cert device-noid "/O=intune-gate demo/CN=laptop-without-id" device-ca "${client_ext[@]}"
have device-cn-only || make_cert device-cn-only "/O=intune-gate demo/CN=3f2504e0-4f89-41d3-9a0c-0305e82c3309" \
  device-ca "${client_ext[@]}"
have device-other-ca || make_cert device-other-ca "/O=intune-gate demo/CN=device-other-ca" other-ca \
  "${client_ext[@]}" -addext "subjectAltName=URI:IntuneDeviceId://3f2504e0-4f89-41d3-9a0c-0305e82c3301"
# Signed with SHA-1: the TLS handshake refuses it as a weak signature (OpenSSL security level 1 and up).
have device-sha1 || make_cert device-sha1 "/O=intune-gate demo/CN=device-sha1" device-ca "${client_ext[@]}" -sha1 \
  -addext "subjectAltName=URI:IntuneDeviceId://3f2504e0-4f89-41d3-9a0c-0305e82c3301"
# From the device CA, but for a server only (extendedKeyUsage serverAuth, no clientAuth): not a client
# certificate, so neither the handshake nor the authorization endpoint may accept it.
have device-server-only || make_cert device-server-only "/O=intune-gate demo/CN=device-server-only" device-ca \
  -addext "basicConstraints=critical,CA:FALSE" -addext "keyUsage=critical,digitalSignature" \
  -addext "extendedKeyUsage=serverAuth" -addext "subjectAltName=URI:IntuneDeviceId://3f2504e0-4f89-41d3-9a0c-0305e82c3301"
# The compliant device's GUID under another URI scheme than device_id.san_uri_scheme: no device ID.
have device-wrong-scheme || make_cert device-wrong-scheme "/O=intune-gate demo/CN=device-wrong-scheme" device-ca \
  "${client_ext[@]}" -addext "subjectAltName=URI:Other://3f2504e0-4f89-41d3-9a0c-0305e82c3301"
# A header-injection attempt: CR LF percent-encoded in the SAN URI and raw in the CN (UTF8String).
have device-crlf || make_cert device-crlf $'/O=intune-gate demo/CN=device-crlf\r\nX-Evil: 1' device-ca \
  "${client_ext[@]}" -addext "subjectAltName=URI:IntuneDeviceId://3f2504e0-4f89-41d3-9a0c-0305e82c3301%0D%0AX-Evil:%201"

# `openssl ca` (not `req -x509`) can back-date a certificate and write a CRL; it wants a small database.
ca_config() {
  mkdir -p "$work/db"
  : >"$work/db/index.txt"
  echo 01 >"$work/db/serial"
  cat >"$work/ca.cnf" <<EOF
[ca]
default_ca = device_ca
[device_ca]
database = $work/db/index.txt
new_certs_dir = $work/db
serial = $work/db/serial
certificate = $dir/device-ca.crt
private_key = $dir/device-ca.key
default_md = sha256
default_crl_days = $days
policy = any
unique_subject = no
copy_extensions = copy
[any]
commonName = supplied
organizationName = optional
[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
EOF
}

# dated NAME START END: a device certificate (SAN of the compliant device) valid only from START to END.
dated() {
  have "device-$1" && return 0
  ca_config
  quiet openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$work/device-$1.key" \
    -out "$work/$1.csr" -subj "/O=intune-gate demo/CN=device-$1" \
    -addext "subjectAltName=URI:IntuneDeviceId://3f2504e0-4f89-41d3-9a0c-0305e82c3301"
  quiet openssl ca -batch -config "$work/ca.cnf" -extensions client -notext -in "$work/$1.csr" \
    -out "$work/device-$1.crt" -rand_serial -startdate "$2" -enddate "$3"
  chmod 600 "$work/device-$1.key"
  mv "$work/device-$1.key" "$work/device-$1.crt" "$dir/"
  echo "made device-$1"
}
dated expired 20200101000000Z 20210101000000Z
dated not-yet-valid 20990101000000Z 21000101000000Z

# The CRL is rebuilt from device-revoked.crt alone whenever it is missing or older than that cert.
if [ ! -s "$dir/device-ca.crl" ] || [ "$dir/device-revoked.crt" -nt "$dir/device-ca.crl" ]; then
  ca_config
  serial=$(openssl x509 -in "$dir/device-revoked.crt" -noout -serial | cut -d= -f2)
  expiry=$(date -u -d "$(openssl x509 -in "$dir/device-revoked.crt" -noout -enddate | cut -d= -f2)" +%y%m%d%H%M%SZ)
  revoked=$(date -u +%y%m%d%H%M%SZ)
  printf 'R\t%s\t%s,keyCompromise\t%s\tunknown\t/O=intune-gate demo/CN=device-revoked\n' \
    "$expiry" "$revoked" "$serial" >"$work/db/index.txt"
  quiet openssl ca -batch -config "$work/ca.cnf" -gencrl -out "$work/device-ca.crl"
  mv "$work/device-ca.crl" "$dir/device-ca.crl"
  echo "made device-ca.crl"
fi
