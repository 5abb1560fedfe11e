#!/usr/bin/env bash
# The Debian package's contents and metadata:
#   package_test.sh DEB ARCH [BUILD_DIR]
# With BUILD_DIR, `cmake --build BUILD_DIR --target package` (re)writes DEB first. Checked with
# dpkg-deb -I/-c: the name, architecture and version fields, Depends (shared libraries for a
# dynamic binary, none for a static one), the conffile, the maintainer scripts, every installed
# file; the packaged /etc/ferry/ferry.toml sets data.dir = "/var/lib/ferry"; the packaged binary
# prints its version (natively, or under qemu-user for arm64/armhf); lintian, where installed,
# reports no error or warning on a native package (packaging/debian/lintian-overrides lists the
# accepted ones, installed with the package). Exits 77 (skipped) without dpkg-deb.
set -euo pipefail
DEB=$1
ARCH=$2
BUILD=${3:-}
if ! command -v dpkg-deb >/dev/null; then
  echo "SKIP: dpkg-deb not installed"
  exit 77
fi
fail() { echo "FAIL: $*"; exit 1; }
if [ -n "$BUILD" ]; then
  cmake --build "$BUILD" --target package >/dev/null || fail "cmake --build $BUILD --target package"
fi
[ -f "$DEB" ] || fail "$DEB not written"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

dpkg-deb -I "$DEB" >"$TMP/info"
dpkg-deb -c "$DEB" >"$TMP/contents"
field() { dpkg-deb -f "$DEB" "$1"; }
[ "$(field Package)" = ferry ] || fail "Package: $(field Package)"
[ "$(field Architecture)" = "$ARCH" ] || fail "Architecture: $(field Architecture), want $ARCH"
version=$(field Version)
[[ "$(basename "$DEB")" == "ferry_${version}_${ARCH}.deb" ]] || fail "file name $(basename "$DEB") vs version $version"

# Depends: a dynamically linked binary names libc6 and the libraries it links; a static one none.
dpkg-deb -x "$DEB" "$TMP/root"
bin="$TMP/root/usr/bin/ferry"
[ -x "$bin" ] || fail "no executable /usr/bin/ferry"
depends=$(field Depends || true)
if file -L "$bin" | grep -q 'statically linked'; then
  [ -z "$depends" ] || fail "a static binary with Depends: $depends"
  echo "ok: static binary, no Depends"
else
  for lib in libc6 libuv1 libsqlite3-0 liblz4-1 libmbedtls; do
    grep -q "$lib" <<<"$depends" || fail "Depends lacks $lib: $depends"
  done
  echo "ok: Depends: $depends"
fi

for f in ./usr/bin/ferry ./etc/ferry/ferry.toml ./lib/systemd/system/ferry.service \
  ./usr/lib/sysusers.d/ferry.conf ./usr/lib/tmpfiles.d/ferry.conf \
  ./usr/share/doc/ferry/copyright ./usr/share/doc/ferry/changelog.gz \
  ./usr/share/doc/ferry/operations.md; do
  awk '{print $6}' "$TMP/contents" | grep -qx "$f" || fail "package lacks $f"
done
if awk '{print $2}' "$TMP/contents" | grep -qv '^root/root$'; then
  fail "files not owned by root: $(awk '$2 != "root/root"' "$TMP/contents")"
fi
grep -qx 'data.dir = "/var/lib/ferry"  # set by the ferry package' "$TMP/root/etc/ferry/ferry.toml" ||
  fail "the packaged ferry.toml does not set data.dir"
dpkg-deb -e "$DEB" "$TMP/control"
grep -qx /etc/ferry/ferry.toml "$TMP/control/conffiles" || fail "ferry.toml is not a conffile"
for s in postinst prerm postrm; do
  [ -x "$TMP/control/$s" ] || fail "no executable $s"
  sh -n "$TMP/control/$s" || fail "$s: syntax"
done
grep -q 'systemd-sysusers' "$TMP/control/postinst" || fail "postinst does not create the user"
grep -q '/run/systemd/system' "$TMP/control/postinst" || fail "postinst starts without systemd check"
echo "ok: contents, conffile, maintainer scripts"

# The packaged binary runs and names its version.
case "$ARCH" in
  arm64) run=(qemu-aarch64 -L /usr/aarch64-linux-gnu) ;;
  armhf) run=(qemu-arm -L /usr/arm-linux-gnueabihf) ;;
  *) run=() ;;
esac
if [ ${#run[@]} -gt 0 ] && ! command -v "${run[0]}" >/dev/null; then
  echo "note: ${run[0]} not installed; the $ARCH binary not run"
else
  out=$("${run[@]}" "$bin" --version)
  [[ "$out" == "ferry $version (commit "* ]] || fail "--version printed: $out"
  echo "ok: $out"
fi

if [ -z "${run[*]}" ] && command -v lintian >/dev/null; then
  lintian --fail-on error,warning "$DEB" >"$TMP/lintian" 2>&1 || {
    cat "$TMP/lintian"
    fail "lintian"
  }
  echo "ok: lintian clean (overrides: packaging/debian/lintian-overrides)"
fi
echo PASS
