#!/usr/bin/env bash
# HTTP behaviour: keep-alive, bodies streamed intact, smuggling and limits refused.
source "$(dirname "$0")/lib.sh"
start_all

# Five requests on one connection: curl reuses it; only the first connects.
args=(); for i in 1 2 3 4 5; do args+=(-o /dev/null "$GW/$i"); done
connects=$(gw_curl compliant -w '%{num_connects} ' "${args[@]}")
expect_eq "five requests, one connection" "$(echo $connects)" "1 0 0 0 0"

# A 1 MiB body with Content-Length arrives intact.
head -c 1048576 /dev/urandom >"$T/big"
want=$(sha256sum "$T/big" | cut -d' ' -f1)
gw_curl compliant -o "$T/body" --data-binary "@$T/big" -H 'Content-Type: application/octet-stream' "$GW/upload"
expect_eq "1 MiB body length" "$(json_get "$T/body" 'd["body_length"]')" 1048576
expect_eq "1 MiB body sha256" "$(json_get "$T/body" 'd["body_sha256"]')" "$want"

# A chunked body (with Expect: 100-continue) arrives intact.
head -c 300000 /dev/urandom >"$T/chunked"
want=$(sha256sum "$T/chunked" | cut -d' ' -f1)
gw_curl compliant -o "$T/body" -H 'Transfer-Encoding: chunked' -H 'Expect: 100-continue' \
  --data-binary "@$T/chunked" "$GW/chunked"
expect_eq "chunked body length" "$(json_get "$T/body" 'd["body_length"]')" 300000
expect_eq "chunked body sha256" "$(json_get "$T/body" 'd["body_sha256"]')" "$want"

# Content-Length together with Transfer-Encoding: 400, connection closed, upstream untouched.
before=$(upstream_hits)
printf 'POST /smuggle HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /second HTTP/1.1\r\nHost: x\r\n\r\n' >"$T/req"
reply=$(raw_tls compliant "$T/req")
[[ $reply == "HTTP/1.1 400"* ]] || fail "CL+TE: expected 400, got: ${reply:0:80}"
ok "CL+TE: 400"
[ "$(grep -c '^HTTP/1.1' <<<"$reply")" = 1 ] || fail "CL+TE: more than one response (smuggled request served)"
ok "CL+TE: nothing after the 400"
printf 'POST /smuggle HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n' >"$T/req"
reply=$(raw_tls compliant "$T/req")
[[ $reply == "HTTP/1.1 400"* ]] || fail "TE+CL: expected 400, got: ${reply:0:80}"
ok "TE+CL: 400"
printf 'POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n' >"$T/req"
reply=$(raw_tls compliant "$T/req")
[[ $reply == "HTTP/1.1 400"* ]] || fail "bad chunk size: expected 400, got: ${reply:0:80}"
ok "bad chunking: 400"
printf 'GARBAGE\r\n\r\n' >"$T/req"
reply=$(raw_tls compliant "$T/req")
[[ $reply == "HTTP/1.1 400"* ]] || fail "bad request line: expected 400, got: ${reply:0:80}"
ok "bad request line: 400"
printf 'POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\nabc' >"$T/req"
reply=$(raw_tls compliant "$T/req")
[[ $reply == "HTTP/1.1 400"* ]] || fail "TE without chunked: expected 400, got: ${reply:0:80}"
ok "Transfer-Encoding without chunked: 400"
expect_eq "upstream untouched by bad requests" "$(upstream_hits)" "$before"

# Headers over the limit (8 KiB in this config): 431.
big=$(head -c 12000 /dev/zero | tr '\0' a)
expect_eq "oversized header: 431" "$(gw_curl compliant -o /dev/null -w '%{http_code}' -H "X-Big: $big" "$GW/")" 431
# Body over the limit (4 MiB): 413, by Content-Length and by chunks.
head -c 5000000 /dev/zero >"$T/huge"
expect_eq "oversized body: 413" "$(gw_curl compliant -o /dev/null -w '%{http_code}' --data-binary "@$T/huge" "$GW/")" 413
reply=$(raw_tls_chunked compliant /huge-chunked 5000000)
[[ $reply == "HTTP/1.1 413"* ]] || fail "oversized chunked body: expected 413, got: ${reply:0:80}"
ok "oversized chunked body: 413"
expect_eq "upstream never got an oversized request" "$(upstream_hits)" "$before"

# HEAD and a query string pass through; the gateway still answers afterwards.
expect_eq "HEAD" "$(gw_curl compliant -I -o /dev/null -w '%{http_code}' "$GW/head")" 200
expect_eq "still serving" "$(gw_curl compliant -o /dev/null -w '%{http_code}' "$GW/after")" 200
echo "PASS $TEST_NAME"
