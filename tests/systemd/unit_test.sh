#!/usr/bin/env bash
# packaging/ferry.service checked by systemd's own tools:
#   unit_test.sh PACKAGING_DIR FERRY_BINARY
# `systemd-analyze verify` exits 0 even when it complains, so any output on stderr fails the
# test; `systemd-analyze security --offline=yes` must score the unit below 2.0 (the score is
# printed). ExecStart= is pointed at the built binary (verify checks that it is executable).
# Exits 77 (skipped) when systemd-analyze is not installed.
set -euo pipefail
PKG=$(cd "$1" && pwd)
FERRY=$2
if ! command -v systemd-analyze >/dev/null; then
  echo "SKIP: systemd-analyze not installed (Debian package systemd)"
  exit 77
fi
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
sed "s|/usr/bin/ferry|$FERRY|" "$PKG/ferry.service" >"$TMP/ferry.service"
grep -q "^ExecStart=$FERRY serve" "$TMP/ferry.service"

systemd-analyze verify "$TMP/ferry.service" 2>"$TMP/verify.err" >/dev/null || true
if [ -s "$TMP/verify.err" ]; then
  echo "FAIL: systemd-analyze verify complained:"
  cat "$TMP/verify.err"
  exit 1
fi
echo "ok: systemd-analyze verify is silent"

# The sysusers and tmpfiles snippets parse (both tools have a dry-run mode that prints the
# config and rejects syntax errors).
if command -v systemd-sysusers >/dev/null; then
  if ! systemd-sysusers --dry-run "$PKG/ferry.sysusers" >"$TMP/sysusers.out" 2>&1; then
    # --dry-run needs a newer systemd than some hosts have: fall back to a syntax check by root.
    if grep -qi "unrecognized option" "$TMP/sysusers.out"; then
      echo "note: systemd-sysusers has no --dry-run here"
    else
      echo "FAIL: systemd-sysusers rejects ferry.sysusers:"
      cat "$TMP/sysusers.out"
      exit 1
    fi
  fi
fi
grep -Eq '^u ferry - ' "$PKG/ferry.sysusers"
grep -Eq '^d /var/lib/ferry 0750 ferry ferry' "$PKG/ferry.tmpfiles"

score=$(systemd-analyze security --offline=yes --no-pager "$TMP/ferry.service" 2>&1 |
  sed -n 's/.*Overall exposure level for ferry.service: \([0-9.]*\).*/\1/p')
if [ -z "$score" ]; then
  echo "FAIL: no exposure score from systemd-analyze security --offline=yes"
  systemd-analyze security --offline=yes --no-pager "$TMP/ferry.service" || true
  exit 1
fi
echo "systemd-analyze security exposure: $score"
if ! awk -v s="$score" 'BEGIN { exit !(s < 2.0) }'; then
  echo "FAIL: exposure $score is not below 2.0"
  exit 1
fi
# The unit's contract with ferry itself.
for line in 'Type=notify' 'WatchdogSec=30s' 'StateDirectory=ferry' 'ConfigurationDirectory=ferry' \
  'User=ferry' 'LimitNOFILE=65536' 'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX'; do
  grep -qx "$line" "$PKG/ferry.service" || { echo "FAIL: ferry.service lacks $line"; exit 1; }
done
echo PASS
