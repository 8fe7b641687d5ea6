#!/usr/bin/env bash
# Builds the container image (Containerfile) with podman, or docker when podman is missing; prints
# the image's name last.
#   bash scripts/image.sh [--local-base] [--prebuilt] [--tag NAME]
#   --local-base  no registry reachable: makes the Debian 12 base image from Debian's own packages
#                 (debootstrap --variant=minbase into a folder, then `podman import`) as
#                 localhost/intune-gate-base:bookworm, once, and builds both stages on it
#   --prebuilt    takes build/bin/intune-gate (scripts/build.sh, on Debian 12; IG_BUILD_DIR names
#                 another build folder) instead of compiling in the image: a minute, not twenty
#   --tag NAME    the image's name (default localhost/intune-gate:<version>)
# IG_PODMAN_ARGS adds arguments to `podman build`/`run`. Where podman's default runtime (crun) cannot
# start a container, the script says why and retries with runc (see docs/install.md, the container
# image); IG_PODMAN_ARGS="--runtime runc ..." skips the probe.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

local_base=0 prebuilt=0 tag=""
while [ $# -gt 0 ]; do
  case "$1" in
    --local-base) local_base=1 ;;
    --prebuilt) prebuilt=1 ;;
    --tag) tag=$2; shift ;;
    *) echo "usage: $0 [--local-base] [--prebuilt] [--tag NAME]" >&2; exit 2 ;;
  esac
  shift
done

engine=podman
command -v podman >/dev/null || engine=docker
command -v "$engine" >/dev/null || { echo "image.sh: neither podman nor docker is installed (apt-get install podman)" >&2; exit 1; }
version=$(sed -n 's/^project(intune-gate VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
tag=${tag:-localhost/intune-gate:$version}
read -r -a extra <<<"${IG_PODMAN_ARGS:-}"

args=(--format docker)  # docker format: OCI images drop HEALTHCHECK
[ "$engine" = podman ] || args=()
base_image=localhost/intune-gate-base:bookworm
if [ $local_base -eq 1 ]; then
  if ! $engine image exists "$base_image" 2>/dev/null; then
    command -v debootstrap >/dev/null || { echo "image.sh: --local-base needs debootstrap (apt-get install debootstrap)" >&2; exit 1; }
    rootfs=$(mktemp -d "${TMPDIR:-/tmp}/ig-rootfs.XXXXXX")
    echo "image.sh: debootstrap bookworm into $rootfs" >&2
    debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian >"$rootfs.log" 2>&1 ||
      { tail -n 5 "$rootfs.log" >&2; exit 1; }
    tar -C "$rootfs" -c . | $engine import - "$base_image" >/dev/null
    rm -rf "$rootfs" "$rootfs.log"
  fi
  args+=(--build-arg "DEBIAN_IMAGE=$base_image" --build-arg "RUNTIME_IMAGE=$base_image")

  # Can this machine start a container at all? crun needs CAP_SYS_RESOURCE for its rlimits and a
  # pure cgroup v2 (or v1) hierarchy; runc copes with a hybrid one.
  if [ "$engine" = podman ] && [ ${#extra[@]} -eq 0 ]; then
    if ! probe=$(podman run --rm "$base_image" true 2>&1); then
      echo "image.sh: podman cannot start a container with its defaults: $probe" >&2
      extra=(--runtime runc --ulimit "nofile=$(ulimit -Hn):$(ulimit -Hn)" --ulimit nproc=1024:1024)
      command -v runc >/dev/null || { echo "image.sh: retrying needs runc (apt-get install runc)" >&2; exit 1; }
      probe=$(podman run --rm "${extra[@]}" "$base_image" true 2>&1) ||
        { echo "image.sh: not with runc either: $probe" >&2; exit 1; }
      echo "image.sh: using ${extra[*]}" >&2
    fi
  fi
fi

# A staged build context: the sources the image needs, not the build folders.
ctx=$(mktemp -d "${TMPDIR:-/tmp}/ig-image.XXXXXX")
trap 'rm -rf "$ctx"' EXIT
cp -r CMakeLists.txt Containerfile core proxy tests "$ctx/"
mkdir -p "$ctx/conf" "$ctx/prebuilt"
cp conf/intune-gate.schema.json conf/production.json "$ctx/conf/"
if [ $prebuilt -eq 1 ]; then
  bdir=${IG_BUILD_DIR:-build}
  [ -x "$bdir/bin/intune-gate" ] || bash scripts/build.sh
  objcopy --strip-unneeded "$bdir/bin/intune-gate" "$ctx/prebuilt/intune-gate"
  args+=(--build-arg BINARY=prebuilt)
fi
echo "image.sh: $engine build -t $tag" >&2
$engine build "${args[@]}" "${extra[@]}" -t "$tag" -f "$ctx/Containerfile" "$ctx" >&2
# For the caller (tests/e2e/test_image.sh): the arguments `podman run` needs here.
printf '%s\n' "${extra[*]}" >"${IG_IMAGE_RUN_ARGS_FILE:-/dev/null}"
echo "$tag"
