#!/usr/bin/env bash
# The amd64 .deb installed into a fresh Debian 12 root (by hand, as root; needs a Debian mirror,
# so CTest does not run it):
#   install_test.sh DEB [ROOT]
# ROOT defaults to a new `mmdebstrap --variant=apt --include=kcat,systemd-sysv bookworm` tree
# (removed afterwards). The package is installed with apt inside the root (which resolves its
# Depends from the mirror); the postinst must create the ferry user and /var/lib/ferry and must
# not start anything (no systemd running in a chroot). Then ferry starts from the installed files
# as user ferry with the shipped /etc/ferry/ferry.toml (the listener moved to a free port by
# flag), kcat inside the root produces and consumes a record, SIGTERM stops it with exit 0, and
# `dpkg --purge` removes every file of the package, /etc/ferry and /var/lib/ferry.
set -euo pipefail
DEB=$(realpath "$1")
ROOT=${2:-}
fail() { echo "FAIL: $*"; exit 1; }
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (chroot)"; exit 77; }
made_root=0
if [ -z "$ROOT" ]; then
  command -v mmdebstrap >/dev/null || { echo "SKIP: mmdebstrap not installed"; exit 77; }
  ROOT=$(mktemp -d /tmp/ferry-install-XXXXXX)
  mmdebstrap --variant=apt --include=kcat,systemd-sysv bookworm "$ROOT" >/dev/null
  made_root=1
fi
pid=
cleanup() {
  [ -z "$pid" ] || kill "$pid" 2>/dev/null || true
  for m in proc dev; do umount "$ROOT/$m" 2>/dev/null || true; done
  [ "$made_root" = 0 ] || rm -rf "$ROOT"
}
trap cleanup EXIT
mount -t proc proc "$ROOT/proc"
mount --bind /dev "$ROOT/dev"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
cp "$DEB" "$ROOT/tmp/ferry.deb"
in_root() { chroot "$ROOT" "$@"; }

in_root apt-get update -q >/dev/null
in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q /tmp/ferry.deb >/dev/null
in_root getent passwd ferry >/dev/null || fail "no ferry user after install"
[ "$(in_root stat -c %U:%G:%a /var/lib/ferry)" = ferry:ferry:750 ] || fail "/var/lib/ferry: $(in_root stat -c %U:%G:%a /var/lib/ferry)"
for p in $(pgrep -x ferry || true); do
  [ "$(readlink "/proc/$p/root")" != "$(realpath "$ROOT")" ] || fail "ferry was started inside a chroot"
done
in_root dpkg -s ferry | grep -q '^Status: install ok installed' || fail "not installed"
echo "ok: installed; user and state directory made; nothing started"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
log=$ROOT/tmp/ferry.log
chroot --userspec=ferry:ferry "$ROOT" /usr/bin/ferry serve --config /etc/ferry/ferry.toml \
  --listen "127.0.0.1:$port" >"$log" 2>&1 &
pid=$!
for _ in $(seq 200); do grep -q "serving on" "$log" && break; sleep 0.05; done
grep -q "serving on 127.0.0.1:$port" "$log" || { cat "$log"; fail "no 'serving on'"; }
grep -q "data in /var/lib/ferry" "$log" || { cat "$log"; fail "the shipped config's data.dir not used"; }
echo "hello-from-the-package" | in_root kcat -P -b "127.0.0.1:$port" -t packaged -X topic.metadata.refresh.interval.ms=100
got=$(in_root kcat -C -b "127.0.0.1:$port" -t packaged -o beginning -c 1 -e -q)
[ "$got" = "hello-from-the-package" ] || fail "kcat read back: $got"
[ -n "$(ls "$ROOT/var/lib/ferry/logs")" ] || fail "no partition under /var/lib/ferry/logs"
kill -TERM "$pid"
wait "$pid" || fail "ferry exited with $? after SIGTERM"
pid=
echo "ok: ferry served from the installed files; kcat round trip; clean stop"

files=$(in_root dpkg -L ferry | grep -v '^/\.$')
in_root dpkg --purge ferry >/dev/null
for f in /usr/bin/ferry /etc/ferry /var/lib/ferry /lib/systemd/system/ferry.service \
  /usr/lib/sysusers.d/ferry.conf; do
  [ ! -e "$ROOT$f" ] || fail "$f left after purge"
done
for f in $files; do
  [ -d "$ROOT$f" ] || [ ! -e "$ROOT$f" ] || fail "$f left after purge"
done
echo "ok: purge removed the package's files, /etc/ferry and /var/lib/ferry"
echo PASS
