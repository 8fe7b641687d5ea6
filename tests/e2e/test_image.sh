#!/usr/bin/env bash
# The container image (Containerfile, scripts/image.sh) built and run with podman: the base made
# from Debian's packages (--local-base: no registry is reachable here), this build's binary
# (--prebuilt). Checked: non-root user, no compiler in the image, HEALTHCHECK, a request through the
# container to the emulator and the upstream on loopback (--network host), SIGTERM drains and exits
# 0. Needs root to install podman; a machine where podman cannot start any container skips, saying why.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/lib_install.sh"

if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP $TEST_NAME: installs podman, runc and debootstrap (root)"
  exit 0
fi
ensure_packages podman runc debootstrap binutils
exec 9>/tmp/intune-gate-image-test.lock
flock -w 300 9 || fail "another test holds /tmp/intune-gate-image-test.lock (a process it left?)"
IMAGE=localhost/intune-gate:e2e-test
NAME=ig-e2e-$$
# The build's untagged stages (the prebuilt binary's) go with the image; the base stays (debootstrap
# takes minutes).
dangling_before=$(podman images -q -f dangling=true | sort)
remove_image() {
  podman rm -f "$NAME" >/dev/null 2>&1
  podman rmi -f "$IMAGE" >/dev/null 2>&1
  comm -13 <(echo "$dangling_before") <(podman images -q -f dangling=true | sort) | xargs -r podman rmi >/dev/null 2>&1
}
trap 'st=$?; set +e; remove_image; (exit $st); cleanup' EXIT

# 1. Build.
if ! IG_BUILD_DIR="$BUILD" IG_IMAGE_RUN_ARGS_FILE="$T/run-args" \
     bash "$TOP/scripts/image.sh" --local-base --prebuilt --tag "$IMAGE" >"$T/image.log" 2>&1; then
  if grep -q 'podman cannot start a container\|not with runc either' "$T/image.log" && ! grep -q 'using --runtime' "$T/image.log"; then
    echo "SKIP $TEST_NAME: podman cannot run containers on this machine: $(grep -m1 'not with runc\|cannot start' "$T/image.log")"
    exit 0
  fi
  fail "scripts/image.sh: $(tail -n 30 "$T/image.log")"
fi
read -r -a run_args <"$T/run-args" || true
ok "image built ($(grep -m1 'using --runtime' "$T/image.log" || echo "podman defaults"))"
expect_eq "image user" "$(podman image inspect -f '{{.Config.User}}' "$IMAGE")" 10001:10001
podman image inspect -f '{{json .Config.Healthcheck}}' "$IMAGE" | grep -q '/healthz' || fail "no HEALTHCHECK on /healthz"
expect_eq "image stop signal" "$(podman image inspect -f '{{.Config.StopSignal}}' "$IMAGE")" SIGTERM
podman run --rm "${run_args[@]}" --entrypoint bash "$IMAGE" -c 'command -v g++ cmake make cc' >"$T/tools" 2>&1 &&
  fail "build tools in the runtime image: $(cat "$T/tools")"
ok "runtime image: non-root, HEALTHCHECK, SIGTERM, no build tools"

# 2. Run it: config and certificates mounted read-only, the secret from the environment. The
# HEALTHCHECK is run by hand below (podman's timer for it needs systemd).
make_pki
start_emulator
start_upstream
ADMIN_PORT=$(free_port)
write_config "{\"intune\": {\"client_secret\": {\"env\": \"INTUNE_CLIENT_SECRET\"}},
               \"admin\": {\"address\": \"127.0.0.1\", \"port\": $ADMIN_PORT}}"
mkdir -p "$T/etc"
for f in server.crt server.key device-ca.crt server-ca.crt; do install -m 0644 "$PKI/$f" "$T/etc/$f"; done
sed "s|$PKI/|/etc/intune-gate/|g" "$T/gate.json" >"$T/etc/config.json"
chmod 0755 "$T" "$T/etc"
INTUNE_CLIENT_SECRET='demo-s3cret+/=&~ x' podman run -d --name "$NAME" "${run_args[@]}" --network host \
  -v "$T/etc:/etc/intune-gate:ro" -e INTUNE_CLIENT_SECRET -e IG_HEALTH_PORT="$ADMIN_PORT" "$IMAGE" \
  >/dev/null 2>"$T/podman.log" || fail "podman run failed: $(cat "$T/podman.log")"
wait_until 30 "the container's gateway listens" sh -c "podman logs '$NAME' 2>&1 | grep -q '\"msg\":\"listening\"'"
case "$(podman top "$NAME" user | tail -n 1 | tr -d ' ')" in
  10001|intune-gate) ok "the gateway runs as intune-gate (10001)" ;;
  *) fail "the gateway runs as $(podman top "$NAME" user | tail -n 1)" ;;
esac
podman healthcheck run "$NAME" >/dev/null || fail "the HEALTHCHECK fails on a running gateway"
ok "HEALTHCHECK passes"
GW=https://127.0.0.1:$GW_PORT
expect_compliant_request "request through the container"

# 3. SIGTERM (podman stop) drains and exits 0.
podman stop -t 15 "$NAME" >/dev/null 2>>"$T/podman.log"
expect_eq "exit status after SIGTERM" "$(podman inspect -f '{{.State.ExitCode}}' "$NAME")" 0
podman logs "$NAME" 2>&1 | grep -q '"msg":"stopping: draining connections"' || fail "no drain on SIGTERM"
ok "SIGTERM drains"
echo "PASS $TEST_NAME"
