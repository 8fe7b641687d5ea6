#!/usr/bin/env bash
# Mutation check: breaks one key behaviour at a time in a scratch copy of the tree, rebuilds it and
# runs the tests that should notice. A mutation the tests do not notice "survived": the suite has a
# blind spot there. Not part of scripts/test.sh (it takes a while: one rebuild and a few end-to-end
# tests per mutation).
#
#   bash scripts/mutate.sh [NAME_REGEX]      e.g.  bash scripts/mutate.sh 'guid|strip'
#
# Each mutation replaces one exact snippet in one file. When the snippet is not in the file (the
# code moved on), the mutation is reported "not applicable" and the script exits non-zero: update
# the snippet rather than lose the check. The end-to-end tests listed for a mutation are run in
# order until one fails (every mutation must be caught by at least one end-to-end test), then its
# unit tests; the line shows which caught it.
#
# Environment: MUTATE_DIR (scratch folder, default a temp dir, removed at the end unless KEEP=1),
# MUTATE_SKIP_BASELINE=1 (skip the run of every named test on the unmutated tree first).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
filter=${1:-.}

# name @@ file @@ snippet @@ replacement @@ end-to-end tests @@ unit test targets
# (\n in snippet and replacement is a newline; a replacement "-" is the empty string; units "-" = none)
mutations=$(cat <<'EOF'
strip-x-intune-prefix @@ core/text/header_names.cpp @@ return normalised_starts_with(name, "x-intune-") ||  @@ return  @@ test_facts @@ proxy_test_headers
strip-x-forwarded-prefix @@ core/text/header_names.cpp @@ normalised_starts_with(name, "x-forwarded-") || @@ - @@ test_facts @@ proxy_test_headers
strip-forwarded @@ core/text/header_names.cpp @@ same_header_name(name, "forwarded") || @@ - @@ test_facts @@ proxy_test_headers
strip-other-outcome-headers @@ proxy/answer/headers.cpp @@ if (!listed_normalised(policy.strip_names, clean_name)) policy.strip_names.push_back(clean_name); @@ - @@ test_facts @@ proxy_test_headers
strip-connection-listed @@ proxy/answer/headers.cpp @@ return is_hop_by_hop(name) || listed(listed_names, name); @@ return is_hop_by_hop(name); @@ test_facts @@ proxy_test_headers
intune-error-on-every-outcome @@ proxy/answer/headers.cpp @@ if (facts.outcome == Outcome::Error)\n @@ if (true)\n @@ test_facts @@ proxy_test_headers
guid-hex-check @@ core/identity/device_id.cpp @@ if (!std::isxdigit(c)) return std::nullopt; @@ - @@ test_outcomes @@ core_test_device_id
guid-length-check @@ core/identity/device_id.cpp @@ if (text.size() != 36) return std::nullopt; @@ if (text.size() < 36) return std::nullopt; @@ test_facts test_outcomes @@ core_test_device_id
trusted-peers @@ core/identity/device_id.cpp @@ if (!header.peer_trusted) continue; @@ - @@ test_connections @@ core_test_device_id
error-cached @@ core/verdict/compliance.cpp @@ if (v.outcome != Outcome::Error) { @@ if (true) { @@ test_ops_failures_metrics test_failures @@ core_test_compliance
single-flight-lookup @@ core/verdict/compliance.cpp @@     if (!first) return;\n @@ \n @@ test_single_flight @@ core_test_compliance
token-reuse @@ core/graph/token_source.cpp @@ if (!token_.empty() && Clock::now() < refresh_at_) co_return TokenResult{true, token_, {}}; @@ - @@ test_ops_admin_metrics test_single_flight @@ core_test_compliance
token-single-flight @@ core/graph/token_source.cpp @@ if (auto flight = flight_) { @@ if (auto flight = flight_; false) { @@ test_single_flight @@ core_test_compliance
token-refusal-hold @@ core/graph/token_source.cpp @@ if (!refusal_.empty() && Clock::now() < refused_until_) co_return TokenResult{false, {}, refusal_}; @@ - @@ test_ops_failures_metrics @@ core_test_compliance
retry-after-ignored @@ core/graph/retry.cpp @@ if (auto after = parse_retry_after(result.response.retry_after)) delay = *after; @@ - @@ test_failures @@ core_test_compliance
retry-after-date-ignored @@ core/graph/retry.cpp @@     if (!when) return std::nullopt;\n @@     return std::nullopt;\n @@ test_failures @@ core_test_token_parts
retry-past-deadline @@ core/graph/retry.cpp @@ if (now + delay >= deadline) co_return result; @@ - @@ test_failures @@ core_test_compliance
no-retry-on-5xx @@ core/graph/retry.cpp @@ return status == 429 || status == 500 || status == 502 || status == 503 || status == 504; @@ return status == 429; @@ test_failures test_ops_failures_metrics @@ core_test_compliance
map-413 @@ proxy/http/refusal.cpp @@ if (ec == http::error::body_limit) return Refusal{413, "request body too large"}; @@ - @@ test_http test_ops_metrics_counts @@ proxy_test_refusal
map-431 @@ proxy/http/refusal.cpp @@ if (ec == http::error::header_limit) return Refusal{431, "request header too large"}; @@ - @@ test_http test_ops_metrics_counts @@ proxy_test_refusal
map-400 @@ proxy/http/refusal.cpp @@         return std::nullopt;\n    return Refusal{400, "bad request"};\n @@         return std::nullopt;\n    return std::nullopt;\n @@ test_http test_ops_metrics_counts @@ proxy_test_refusal
rejected-not-counted @@ proxy/front/session.cpp @@     w_.metrics.rejected_requests.inc();\n    co_return co_await refuse(refusal->status, @@     co_return co_await refuse(refusal->status, @@ test_ops_metrics_counts @@ -
client-cert-not-verified @@ proxy/tls/tls_context.cpp @@ int mode = SSL_VERIFY_PEER; @@ int mode = SSL_VERIFY_NONE; @@ test_handshake @@ -
client-cert-not-required @@ proxy/tls/tls_context.cpp @@ if (tls.client_certificate_required) mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT; @@ - @@ test_handshake @@ -
crl-not-checked @@ proxy/tls/client_ca_store.cpp @@ X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK); @@ - @@ test_handshake test_ops_reload_files @@ proxy_test_cert_verify
header-cert-weak-signature @@ proxy/tls/client_ca_store.cpp @@ X509_VERIFY_PARAM_set_auth_level(X509_STORE_get0_param(store.get()), handshake_security_level()); @@ - @@ test_authz_endpoint @@ proxy_test_cert_verify
min-version-ignored @@ proxy/tls/tls_context.cpp @@ tls.min_version == "1.3" ? TLS1_3_VERSION : TLS1_2_VERSION @@ TLS1_2_VERSION @@ test_handshake @@ -
resumption-survives-ca-change @@ proxy/tls/tls_context.cpp @@ const std::string id_context = client_trust_digest(native, tls.client_certificate_required); @@ const std::string id_context = "intune-gate"; @@ test_resumption_reload @@ -
resumption-survives-mode-change @@ proxy/tls/tls_context.cpp @@ EVP_DigestUpdate(md.get(), &mode, 1); @@ - @@ test_slot_floods @@ -
front-reload-keeps-old-trust @@ proxy/front/server.cpp @@ if (!trust_changed) return; @@ return; @@ test_slot_floods @@ -
front-idle-tls-not-evicted @@ proxy/front/server.cpp @@ !evict_oldest_unproven(worker.ctx) @@ !evict_oldest_handshake(worker.ctx) @@ test_slot_floods @@ -
admin-idle-not-evicted @@ proxy/admin/admin.cpp @@ !idle.evict_oldest_idle() @@ true @@ test_slot_floods @@ -
graph-host-name-unchecked @@ core/graph/http_client.cpp @@ ssl::host_name_verification(host) @@ [](bool preverified, ssl::verify_context&) { return preverified; } @@ test_host_names @@ core_test_compliance
upstream-host-name-unchecked @@ proxy/front/upstream_pool.cpp @@ net::ssl::host_name_verification(up.host) @@ [](bool preverified, net::ssl::verify_context&) { return preverified; } @@ test_host_names @@ -
outcome-ingraceperiod @@ core/verdict/decision.cpp @@ {"inGracePeriod", Outcome::InGracePeriod}, @@ {"inGracePeriod", Outcome::Compliant}, @@ test_outcomes @@ core_test_decision
device-not-found-is-error @@ core/verdict/decision.cpp @@ if (reply.status == 404) { @@ if (false) { @@ test_outcomes @@ core_test_decision
authz-untrusted-peer @@ proxy/plugin/authz_server.cpp @@     if (!trusted) { @@     if (false) { @@ test_authz_connections @@ -
authz-untrusted-at-accept @@ proxy/plugin/authz_server.cpp @@ if (ec || !peer_in(peer, rt->config.authz.trusted_peers)) { @@ if (ec) { @@ test_authz_connections test_authz_endpoint @@ -
authz-check-config-of-accept @@ proxy/plugin/authz_server.cpp @@     in_force = runtime.get();\n @@ - @@ test_authz_connections @@ -
authz-idle-not-evicted @@ proxy/plugin/authz_server.cpp @@ if (!idle.evict_oldest_idle()) { @@ if (true) { @@ test_authz_connections @@ -
redirect-status-ignored @@ proxy/answer/answer.cpp @@ a.status = req.dialect == Dialect::AuthzNginx ? 401 : action.status; @@ a.status = req.dialect == Dialect::AuthzNginx ? 401 : 302; @@ test_answers test_authz_caddy @@ proxy_test_answer
plugin-placeholders-unfilled @@ proxy/answer/answer.cpp @@ const auto location = redirect_location(action.location, req.request_id, original_url(req.host, req.target)); @@ const auto location = req.dialect == Dialect::Gateway ? redirect_location(action.location, req.request_id, original_url(req.host, req.target)) : action.location; @@ test_answers test_authz_caddy @@ proxy_test_answer
plugin-no-deny-page @@ proxy/answer/answer.cpp @@ render_reject(action, verdict, req.request_id, req.accept, now) @@ render_reject(action, verdict, req.request_id, endpoint(req.dialect) ? std::string_view() : req.accept, now) @@ test_answers test_authz_caddy @@ proxy_test_answer
lookup-without-request-id @@ proxy/answer/verdict_lookup.cpp @@ compliance.async_lookup(*device_id, std::string(request_id), @@ compliance.async_lookup(*device_id, std::string(), @@ test_answers test_fidelity @@ -
authz-header-cert-unverified @@ proxy/tls/cert_verify.cpp @@ out.verified = X509_verify_cert(ctx.get()) == 1; @@ out.verified = X509_verify_cert(ctx.get()) == 1 || true; @@ test_authz_endpoint @@ proxy_test_cert_verify
sync-next-link-cycle @@ core/graph/odata_pager.cpp @@ if (!seen_.insert(std::hash<std::string>{}(parsed.target)).second) @@ if (!seen_.insert(std::hash<std::string>{}(parsed.target)).second && false) @@ test_sync_stale @@ core_test_device_sync core_test_odata_pager
cert-header-xfcc @@ core/identity/cert_header.cpp @@ } else if (looks_like_xfcc(v)) { @@ } else if (false) { @@ test_authz_endpoint @@ core_test_cert_header
cert-header-escaped-pem @@ core/identity/cert_header.cpp @@ if (v.find('%') != std::string_view::npos) { @@ if (false) { @@ test_authz_nginx test_authz_endpoint @@ core_test_cert_header
waiters-give-up-at-half @@ core/shared/shared_flight.cpp @@ const auto give_up = deadline; @@ const auto give_up = Clock::now() + (deadline - Clock::now()) / 2; @@ test_shared_flight @@ -
entra-first-device-taken @@ core/graph/entra_lookup.cpp @@ if (value->size() != 1) return ambiguous(std::to_string(value->size()) + " devices for one Entra device ID"); @@ - @@ test_entra_ids @@ core_test_entra_lookup
san-uri-two-ids-first-taken @@ core/identity/device_id.cpp @@ if (found && *found != *id) { @@ if (false) { @@ test_entra_ids @@ core_test_device_id
sync-entra-id-two-devices-kept @@ core/graph/device_sync.cpp @@ if (seen->second == id || seen->second.empty()) return; @@ return; @@ test_entra_ids @@ core_test_device_sync
changes-filter-guard-off @@ core/graph/changes_sync.cpp @@ return changes_guard(value, since_ms); @@ return std::string(); @@ test_sync_changes @@ core_test_changes_sync
sync-verdict-outcome-ttl @@ core/verdict/compliance.cpp @@ if (v.source == VerdictSource::Sync && cfg.sync.interval.count() > 0) return sync_verdict_ttl(cfg); @@ - @@ test_sync_changes @@ -
redis-value-other-device @@ core/shared/shared_value.cpp @@ if (!id || *id != device_id) return refuse("names another device"); @@ - @@ test_shared_cache @@ core_test_shared_value
redis-value-not-ours @@ core/shared/shared_value.cpp @@ if (!parsed.doc || !parsed.doc->is_object()) return refuse("not a JSON object"); @@ if (!parsed.doc || !parsed.doc->is_object()) return std::optional<SharedValue>(SharedValue{}); @@ test_shared_cache @@ core_test_shared_value
framing-repeated-te @@ proxy/http/request_framing.cpp @@ if (te > 1) return {"repeated transfer-encoding", {}}; @@ - @@ test_smuggling @@ proxy_test_request_framing
field-over-beast-limit @@ core/graph/bounded_parser.hpp @@ if (name_string.size() > max_field_bytes || value.size() > max_field_bytes) { @@ if (false) { @@ test_field_limit @@ -
relay-framing-unbounded @@ proxy/front/relay.hpp @@ b.max_size(std::max(max_body_framing_bytes, b.size())); @@ - @@ test_field_limit @@ proxy_test_upstream_exchange
connection-tokens-case-sorted @@ proxy/answer/headers.cpp @@ std::sort(names.begin(), names.end(), ci_less{}); @@ std::sort(names.begin(), names.end()); @@ test_smuggling @@ proxy_test_headers
authz-answer-every-name @@ proxy/answer/headers.cpp @@ for (const auto name : own_headers) answer(name); @@ - @@ test_authz_endpoint @@ proxy_test_plugin_confs
nginx-conf-stale-not-overwritten @@ conf/plugin/nginx.conf @@ proxy_set_header X-Intune-Stale                    $intune_stale; @@ - @@ test_authz_nginx @@ proxy_test_plugin_confs
policy-prefix-no-boundary @@ core/policy/path_normalise.cpp @@ return path.size() == prefix.size() || prefix.back() == '/' || path[prefix.size()] == '/'; @@ return true; @@ test_policy_front @@ core_test_path_normalise
policy-no-dot-segments @@ core/policy/path_normalise.cpp @@ if (name == "." || name == "..") { @@ if (false) { @@ test_policy_front test_policy_plugin @@ core_test_path_normalise
policy-report-blocks @@ core/policy/policy_check.cpp @@ check.result = check.policy->mode == PolicyMode::Report ? PolicyResult::Report : PolicyResult::Deny; @@ check.result = PolicyResult::Deny; @@ test_policy_front @@ -
policy-missing-fact-passes @@ core/policy/policy.cpp @@ if (!f.encrypted) return {Requirement::Encrypted, false, "the device reports no encryption state"}; @@ if (!f.encrypted) return {Requirement::Encrypted, true, "the device reports no encryption state"}; @@ test_policy_front @@ core_test_policy
policy-versions-as-text @@ core/policy/policy.cpp @@ out.passed = compare_versions(*version, it->second) >= 0; @@ out.passed = version->compare(it->second) >= 0; @@ test_policy_front @@ core_test_version
policy-first-not-winning @@ core/policy/policy.hpp @@ for (const auto& p : policies)\n        if (policy_fits(p, t)) return &p;\n    return nullptr; @@ decltype(&*std::begin(policies)) last = nullptr;\n    for (const auto& p : policies)\n        if (policy_fits(p, t)) last = &p;\n    return last; @@ test_policy_front @@ core_test_policy
policy-host-trailing-dot @@ core/policy/host_match.cpp @@ if (!host.empty() && host.back() == '.') host.pop_back(); @@ - @@ test_policy_front test_policy_plugin @@ core_test_host_match
policy-overlong-utf8 @@ core/policy/path_normalise.cpp @@ if (overlong_utf8(out)) return std::nullopt; @@ - @@ test_policy_front test_policy_plugin @@ core_test_path_normalise
policy-forward-unnormalised @@ proxy/front/session.cpp @@ if (!policy_req.forward_target.empty()) req.target(policy_req.forward_target); @@ - @@ test_policy_front @@ -
policy-plugin-no-forwarded-uri @@ proxy/plugin/authz_request.cpp @@ for (std::string_view name : {"X-Forwarded-Uri", "X-Original-URI"}) { @@ for (std::string_view name : {"X-Original-URI"}) { @@ test_policy_plugin @@ -
policy-page-unescaped @@ proxy/answer/deny_page.cpp @@ happened = html_escape(info.policy->happened); @@ happened = info.policy->happened; @@ test_policy_pages @@ -
framing-te-not-chunked @@ proxy/http/request_framing.cpp @@ if (!iequals(req[http::field::transfer_encoding], "chunked")) return {"unsupported transfer-encoding", {}}; @@ - @@ test_smuggling @@ proxy_test_request_framing
framing-repeated-host @@ proxy/http/request_framing.cpp @@ if (hosts > 1) return {"repeated host", {}}; @@ - @@ test_smuggling @@ proxy_test_request_framing
handshake-failure-reason @@ proxy/tls/tls_context.cpp @@         case X509_V_ERR_CERT_REVOKED: return HandshakeFailure::Revoked;\n @@ - @@ test_handshake @@ -
per-address-limit @@ proxy/front/server.cpp @@ if (!addresses_.try_add(address, limits.max_connections_per_address)) { @@ if (!addresses_.try_add(address, SIZE_MAX)) { @@ test_connections @@ -
apps-next-link-other-origin @@ core/graph/odata_pager.cpp @@ auto parsed = parse_next_link(link, graph_); @@ auto parsed = parse_url(link, {.fragment_allowed = true}); @@ test_fidelity @@ -
session-timeout-ignored @@ proxy/tls/tls_context.cpp @@ SSL_CTX_set_timeout(native, static_cast<long>(tls.session_timeout.count())); @@ - @@ test_connections @@ -
repeated-device-header @@ core/identity/device_id.cpp @@ return header_source && header.peer_trusted && header.count > 1; @@ return false; @@ test_connections @@ core_test_device_id
client-purpose-front @@ proxy/tls/tls_context.cpp @@ SSL_CTX_set_purpose(native, X509_PURPOSE_SSL_CLIENT); @@ SSL_CTX_set_purpose(native, X509_PURPOSE_ANY); @@ test_handshake @@ -
client-purpose-authz @@ proxy/tls/client_ca_store.cpp @@ X509_STORE_set_purpose(store.get(), X509_PURPOSE_SSL_CLIENT); @@ - @@ test_authz_endpoint @@ proxy_test_cert_verify
outside-json-depth @@ core/text/outside_json.cpp @@ depth >= limits.max_depth) @@ false) @@ test_fidelity test_shared_cache @@ core_test_outside_json
verify-header-name-only @@ proxy/plugin/authz_request.cpp @@ match = f.value() == value; @@ match = true; @@ test_authz_endpoint @@ proxy_test_authz_request proxy_test_answer
san-uri-any-scheme @@ core/identity/device_id.cpp @@ if (sep == std::string_view::npos || !iequals(uri.substr(0, sep), scheme)) continue; @@ if (sep == std::string_view::npos || (false && !iequals(uri.substr(0, sep), scheme))) continue; @@ test_outcomes test_authz_endpoint @@ core_test_device_id
redis-value-inconsistent @@ core/shared/shared_value.cpp @@ if (*expected != *outcome) return refuse("outcome does not match compliance_state"); @@ - @@ test_shared_cache @@ core_test_shared_value
redis-value-expired @@ core/shared/shared_value.cpp @@ if (*expires <= now_ms) return refuse("expired"); @@ - @@ test_shared_cache @@ core_test_shared_value
local-cache-ttl @@ core/verdict/verdict_cache.cpp @@     if (entry->expires <= now) {\n @@     if (false) {\n @@ test_sync_stale @@ core_test_verdict_cache
stale-for-state-error @@ core/verdict/compliance.cpp @@ cfg.stale_if_error.count() > 0 && v.compliance_state.empty()) { @@ cfg.stale_if_error.count() > 0) { @@ test_sync_stale @@ core_test_device_sync
stale-max-age @@ core/verdict/verdict_cache.cpp @@ if (age < 0 || age > max_age_ms) return std::nullopt; @@ if (age < 0) return std::nullopt; @@ test_sync_stale @@ core_test_verdict_cache
resumed-expired-certificate @@ proxy/front/session.cpp @@ if (SSL_session_reused(stream_.native_handle()) && !peer_certificate_current(stream_.native_handle())) { @@ if (false) { @@ test_resumption_expiry @@ -
handshake-timeout @@ proxy/front/session.cpp @@ stream_.expires_after(handshake_deadline()); @@ stream_.expires_never(); @@ test_connections @@ -
recheck-no-rate-limit @@ core/verdict/recheck_limit.cpp @@ if (auto it = last_.find(id); it != last_.end() && now - it->second < interval) return Admit::TooSoon; @@ - @@ test_recheck @@ core_test_recheck_limit
recheck-open-return @@ proxy/answer/recheck.cpp @@ if (value.size() > 1 && (value[1] == '/' || value[1] == '\\')) return "/"; @@ - @@ test_recheck @@ proxy_test_recheck
EOF
)

scratch=${MUTATE_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/ig-mutate.XXXXXX")}
cleanup() {
  git -C "$top" worktree remove --force "$scratch/tree" >/dev/null 2>&1 || true
  [ "${KEEP:-0}" = 1 ] || rm -rf "$scratch"
}
trap cleanup EXIT
echo "scratch copy of $(git -C "$top" rev-parse --short HEAD) in $scratch/tree"
git -C "$top" worktree add --detach --force "$scratch/tree" HEAD >/dev/null 2>&1
tree=$scratch/tree
build=$tree/build
launcher=()
if command -v ccache >/dev/null 2>&1; then
  export CCACHE_BASEDIR="$tree" CCACHE_NOHASHDIR=1
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
cmake -S "$tree" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}" >/dev/null

# apply FILE SNIPPET REPLACEMENT: exactly one occurrence, or "not applicable".
apply() {
  python3 - "$tree/$1" "$2" "$3" <<'PY'
import sys
path, old, new = sys.argv[1], sys.argv[2].replace("\\n", "\n"), sys.argv[3].replace("\\n", "\n")
text = open(path).read()
n = text.count(old)
if n != 1:
    print(f"snippet found {n} times in {path}", file=sys.stderr)
    sys.exit(3)
open(path, "w").write(text.replace(old, new))
PY
}

targets_for() {  # the binaries the e2e tests need, plus the unit test targets
  local t=(intune-gate intune-graph-emulator intune-sample-upstream)
  [ "$1" = - ] || t+=($1)
  echo "${t[@]}"
}
build_targets() { cmake --build "$build" -j"${JOBS:-2}" --target "$@" </dev/null >"$scratch/build.log" 2>&1; }
run_test() {  # run_test CTEST_NAME: 0 = passed
  (cd "$build" && ctest -R "^$1\$" --output-on-failure </dev/null >"$scratch/test-$1.log" 2>&1)
}

# Every test named must pass on the unmutated tree, or "caught" would mean nothing.
fields() { echo "$mutations" | sed 's/ @@ /\t/g' | grep -E "^[^\t]*($filter)" | cut -f"$1"; }
all_e2e=$(fields 5 | tr ' ' '\n' | sort -u)
all_unit=$(fields 6 | tr ' ' '\n' | grep -vx -- - | sort -u || true)
echo "building the unmutated tree"
build_targets $(targets_for "$(echo $all_unit)") || { tail -n 30 "$scratch/build.log"; exit 1; }
if [ "${MUTATE_SKIP_BASELINE:-0}" != 1 ]; then
  for t in $all_e2e; do run_test "e2e.$t" || { echo "baseline: e2e.$t fails unmutated"; tail -n 30 "$scratch/test-e2e.$t.log"; exit 1; }; done
  for u in $all_unit; do run_test "unit.${u%%_*}.${u#*_}" || { echo "baseline: $u fails unmutated"; exit 1; }; done
  echo "baseline: every named test passes unmutated"
fi

caught=0 survived=0 inapplicable=0
printf '%-30s %-9s %s\n' MUTATION RESULT "CAUGHT BY"
while IFS=$'\t' read -r -u 3 name file old new e2e units; do
  [ -n "$name" ] || continue
  [[ $name =~ $filter ]] || continue
  git -C "$tree" checkout -q -- .
  [ "$new" != - ] || new=""
  if ! apply "$file" "$old" "$new" 2>"$scratch/apply.log"; then
    printf '%-30s %-9s %s\n' "$name" "N/A" "mutation not applicable: $(cat "$scratch/apply.log")"
    inapplicable=$((inapplicable + 1))
    continue
  fi
  if ! build_targets $(targets_for "$units"); then
    # A mutation that does not compile proves nothing: report it like a survivor.
    printf '%-30s %-9s %s\n' "$name" "NO-BUILD" "$(grep -m1 'error' "$scratch/build.log")"
    survived=$((survived + 1))
    continue
  fi
  by=()
  for t in $e2e; do
    if ! run_test "e2e.$t"; then by+=("e2e.$t"); break; fi
  done
  if [ "$units" != - ]; then
    for u in $units; do run_test "unit.${u%%_*}.${u#*_}" || by+=("unit.${u%%_*}.${u#*_}"); done
  fi
  e2e_caught=0
  for b in "${by[@]}"; do if [[ $b == e2e.* ]]; then e2e_caught=1; fi; done
  if [ ${#by[@]} -gt 0 ] && [ $e2e_caught = 1 ]; then
    printf '%-30s %-9s %s\n' "$name" caught "${by[*]}"
    caught=$((caught + 1))
  elif [ ${#by[@]} -gt 0 ]; then
    printf '%-30s %-9s %s\n' "$name" "unit-only" "${by[*]} (no end-to-end test caught it)"
    survived=$((survived + 1))
  else
    printf '%-30s %-9s %s\n' "$name" SURVIVED "tests run: $e2e $units"
    survived=$((survived + 1))
  fi
done 3< <(echo "$mutations" | sed 's/ @@ /\t/g')
git -C "$tree" checkout -q -- .
echo "$caught caught, $survived survived${inapplicable:+, $inapplicable not applicable}"
[ $survived -eq 0 ] && [ $inapplicable -eq 0 ]
