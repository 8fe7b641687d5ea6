#!/usr/bin/env bash
# Builds the Debian package build/intune-gate_<version>_<arch>.deb from the release build
# (build/bin/intune-gate, made by scripts/build.sh when missing; IG_BUILD_DIR names another build
# folder) with dpkg-dev's tools:
# dpkg-shlibdeps computes the library dependencies, dpkg-gencontrol writes the control file from
# debian/control and debian/changelog, dpkg-deb builds (files owned by root, no fakeroot needed).
# Then lintian checks it (debian/intune-gate.lintian-overrides explains what it leaves).
#   bash scripts/package.sh [--no-lintian]      prints the .deb's path last
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

run_lintian=1
[ "${1:-}" = "--no-lintian" ] && run_lintian=0

tools=(dpkg-dev man-db)
[ $run_lintian -eq 0 ] || tools+=(lintian)
missing=()
for p in "${tools[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
bdir=${IG_BUILD_DIR:-build}
[ -x "$bdir/bin/intune-gate" ] || bash scripts/build.sh

version=$("$bdir/bin/intune-gate" --version | awk '{print $2}')
changelog_version=$(dpkg-parsechangelog -l debian/changelog -S Version)
[ "$version" = "$changelog_version" ] ||
  { echo "package.sh: the binary is $version, debian/changelog says $changelog_version: add a changelog entry" >&2; exit 1; }
arch=$(dpkg --print-architecture)
out=$bdir/intune-gate_${version}_${arch}.deb

work=$(mktemp -d "${TMPDIR:-/tmp}/ig-package.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
doc=$root/usr/share/doc/intune-gate

install -d -m 0755 "$root/DEBIAN" "$root/usr/bin" "$root/lib/systemd/system" "$root/etc/intune-gate" \
  "$root/usr/share/man/man8" "$root/usr/share/intune-gate" "$doc/examples" "$root/usr/share/lintian/overrides"
# The binary without its debug information (Debian ships that separately, if at all).
objcopy --strip-unneeded --remove-section=.comment --remove-section=.note "$bdir/bin/intune-gate" "$root/usr/bin/intune-gate"
chmod 0755 "$root/usr/bin/intune-gate"
# The unit as in conf/, with the packaged binary's path.
sed 's|/usr/local/bin/intune-gate|/usr/bin/intune-gate|g' conf/intune-gate.service >"$root/lib/systemd/system/intune-gate.service"
chmod 0644 "$root/lib/systemd/system/intune-gate.service"
install -m 0644 conf/production.json "$root/etc/intune-gate/config.json"
install -m 0644 conf/intune-gate.schema.json "$root/usr/share/intune-gate/"
gzip -9n <docs/intune-gate.8 >"$root/usr/share/man/man8/intune-gate.8.gz"
# Documentation: the reference and the documents it links, compressed as policy asks.
install -m 0644 README.md debian/README.Debian "$doc/"
install -d -m 0755 "$doc/docs"
install -m 0644 docs/*.md docs/*.png "$doc/docs/"
install -m 0644 debian/copyright "$doc/copyright"
gzip -9n <debian/changelog >"$doc/changelog.gz"
for f in "$doc"/README.md "$doc"/README.Debian "$doc"/docs/*.md; do
  [ "$(stat -c %s "$f")" -le 4096 ] || gzip -9n "$f"
done
install -m 0644 conf/demo.json conf/plugin/* "$doc/examples/"
install -m 0644 debian/intune-gate.lintian-overrides "$root/usr/share/lintian/overrides/intune-gate"

install -m 0755 debian/postinst debian/prerm debian/postrm "$root/DEBIAN/"
echo /etc/intune-gate/config.json >"$root/DEBIAN/conffiles"
chmod 0644 "$root/DEBIAN/conffiles"

dpkg-shlibdeps -T"$work/substvars" -e"$root/usr/bin/intune-gate" >/dev/null
dpkg-gencontrol -pintune-gate -P"$root" -T"$work/substvars" -f"$work/files" -v"$version"
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum >DEBIAN/md5sums)
chmod 0644 "$root/DEBIAN/md5sums"
# Reproducible file times: the changelog's date.
SOURCE_DATE_EPOCH=$(dpkg-parsechangelog -l debian/changelog -S Timestamp)
export SOURCE_DATE_EPOCH
find "$root" -newermt "@$SOURCE_DATE_EPOCH" -exec touch --no-dereference --date="@$SOURCE_DATE_EPOCH" {} +
dpkg-deb --root-owner-group -Zxz --build "$root" "$out" >/dev/null

if [ $run_lintian -eq 1 ]; then
  # Errors and warnings fail the build; info tags are printed for the curious.
  lintian --fail-on error,warning --display-info "$out" >&2
fi
echo "$out"
