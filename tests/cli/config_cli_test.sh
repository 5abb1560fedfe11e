#!/usr/bin/env bash
# `ferry config check FILE` and `ferry selfcheck --config FILE` as an operator meets them: a valid
# file gives exit 0 and one OK line; problems give exit 1 and "FILE:LINE: KEY: message" lines on
# stderr (also for a file the configuration names that cannot be read); selfcheck reports the
# flash's write + fdatasync latency and free space of the configured data.dir, refuses a data
# directory below log.dir.min.free.bytes, and leaves no file behind.
#
#   config_cli_test.sh PATH/TO/ferry
set -uo pipefail
FERRY=$1
. "$(dirname "$0")/lib.sh"

cat >"$WORK/good.toml" <<TOML
[broker]
data.dir = "$WORK/data"
listen = "127.0.0.1:0"
admin.listen = ""
TOML
out=$("$FERRY" config check "$WORK/good.toml" 2>"$WORK/err")
rc=$?
check "config check: a valid file exits 0" [ "$rc" = 0 ]
same "config check: one OK line" \
  "$WORK/good.toml: OK (data.dir $WORK/data, 1 listener, 0 mirrors, admin off)" "$out"
check "config check: nothing on stderr" [ ! -s "$WORK/err" ]
check "config check does not create the data dir" [ ! -e "$WORK/data" ]

cat >"$WORK/bad.toml" <<TOML
[broker]
data.dir = "$WORK/data"
max.connections = -5
bogus.key = 1
admin.basic.auth.user = "ops"
admin.basic.auth.password.file = "$WORK/missing.pw"
TOML
"$FERRY" config check "$WORK/bad.toml" >"$WORK/out" 2>"$WORK/err"
rc=$?
check "config check: an invalid file exits 1" [ "$rc" = 1 ]
check "config check: nothing on stdout when invalid" [ ! -s "$WORK/out" ]
same "config check: each problem as FILE:LINE: KEY: message" \
  "$WORK/bad.toml:3: max.connections: must be at least 1 (got -5)
$WORK/bad.toml:4: bogus.key: unknown key in [broker]" "$(cat "$WORK/err")"

# Parses, but names a password file that cannot be read: the line of the key.
sed -e '/max.connections/d' -e '/bogus.key/d' "$WORK/bad.toml" >"$WORK/pw.toml"
"$FERRY" config check "$WORK/pw.toml" >/dev/null 2>"$WORK/err"
rc=$?
check "config check: an unreadable password file exits 1" [ "$rc" = 1 ]
same "config check: the unreadable file's key and line" \
  "$WORK/pw.toml:4: admin.basic.auth.password.file: cannot read $WORK/missing.pw: No such file or directory" \
  "$(cat "$WORK/err")"

# [cluster]: its checks, also those against [broker], reach `config check` (the loader's).
cat >"$WORK/cluster.toml" <<TOML
[broker]
node.id = 4
data.dir = "$WORK/data"
listen = "127.0.0.1:0"
admin.listen = ""
[cluster]
peers = ["1@127.0.0.1:19093", "1@127.0.0.2:19093"]
heartbeat.interval.ms = 600
TOML
"$FERRY" config check "$WORK/cluster.toml" >/dev/null 2>"$WORK/err"
check "config check: a bad [cluster] exits 1" [ $? = 1 ]
same "config check: [cluster] problems as FILE:LINE: KEY: message" \
  "$WORK/cluster.toml:7: peers: node id 1 is named twice
$WORK/cluster.toml:7: peers: this node (node.id 4) is not among the peers
$WORK/cluster.toml:8: heartbeat.interval.ms: must be below half of election.timeout.ms (1000), got 600" \
  "$(cat "$WORK/err")"
sed -e 's/"1@127.0.0.2:19093"/"4@127.0.0.2:19093"/' -e '/heartbeat/d' "$WORK/cluster.toml" \
  >"$WORK/cluster_ok.toml"
"$FERRY" config check "$WORK/cluster_ok.toml" >/dev/null 2>"$WORK/err"
check "config check: a valid [cluster] exits 0" [ $? = 0 ]

"$FERRY" config check "$WORK/none.toml" >/dev/null 2>"$WORK/err"
check "config check: a missing file exits 1" [ $? = 1 ]
check "config check: a missing file is named" grep -q "none.toml: cannot read" "$WORK/err"

# selfcheck --config: the config, then the flash check in its data.dir.
out=$("$FERRY" selfcheck --config "$WORK/good.toml" --batches 20 2>"$WORK/err")
rc=$?
check "selfcheck --config exits 0" [ "$rc" = 0 ]
check "selfcheck: the config line" grep -q "^config: $WORK/good.toml: OK" <<<"$out"
check "selfcheck: flash latency of write + fdatasync in data.dir" \
  grep -Eq "^flash: 5 x \(4 KiB write \+ fdatasync\) in $WORK/data: min [0-9.]+ ms, median [0-9.]+ ms, max [0-9.]+ ms$" <<<"$out"
check "selfcheck: free space in data.dir" grep -Eq "^free space in $WORK/data: [0-9.]+ MiB of [0-9.]+ MiB$" <<<"$out"
check "selfcheck ok" grep -q "^selfcheck ok$" <<<"$out"
same "selfcheck leaves nothing in the data dir" "" "$(ls -A "$WORK/data")"

# More free space required than any disk here has: refused, and cleaned up.
printf 'log.dir.min.free.bytes = 1152921504606846976\n' >>"$WORK/good.toml"
"$FERRY" selfcheck --config "$WORK/good.toml" --batches 20 >"$WORK/out" 2>"$WORK/err"
rc=$?
check "selfcheck: below log.dir.min.free.bytes exits 1" [ "$rc" = 1 ]
check "selfcheck: says why" grep -q "below log.dir.min.free.bytes (1152921504606846976)" "$WORK/err"
same "selfcheck leaves nothing after a failure" "" "$(ls -A "$WORK/data")"

# A broken config stops selfcheck before it touches the disk.
"$FERRY" selfcheck --config "$WORK/bad.toml" >/dev/null 2>"$WORK/err"
check "selfcheck: an invalid config exits 1" [ $? = 1 ]
check "selfcheck: the config problem is named" \
  grep -q "^selfcheck: config: $WORK/bad.toml:3: max.connections" "$WORK/err"

echo "$fails failures"
[ "$fails" = 0 ]
