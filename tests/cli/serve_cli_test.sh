#!/usr/bin/env bash
# `ferry serve` as an operator meets it: config errors name file, line and key and exit 2;
# flags override the file; SIGTERM and SIGINT stop it cleanly with exit 0; a busy port exits 1.
#
#   serve_cli_test.sh PATH/TO/ferry
set -uo pipefail
FERRY=$1
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT
fails=0
check() {  # check DESCRIPTION CONDITION...
  local what=$1
  shift
  if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; fails=$((fails + 1)); fi
}

# Waits (bounded) until FILE contains TEXT.
wait_for() {
  local file=$1 text=$2 i
  for i in $(seq 1 200); do
    grep -q "$text" "$file" 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

# Starts ferry in the background; sets PID and LOG.
start() {
  LOG=$WORK/serve-$RANDOM.log
  "$FERRY" serve "$@" >"$LOG" 2>&1 &
  PID=$!
  PIDS+=("$PID")
}

# Waits (bounded) for PID to exit; sets RC to its exit code or "timeout". Runs in this shell,
# the process's parent, so that `wait` can collect the status.
wait_exit() {
  local pid=$1 i
  RC=timeout
  for i in $(seq 1 200); do
    if ! kill -0 "$pid" 2>/dev/null || [ "$(ps -o stat= -p "$pid" 2>/dev/null | cut -c1)" = Z ]; then
      wait "$pid"
      RC=$?
      return
    fi
    sleep 0.05
  done
}

# 1. A bad value names file, line and key; exit 2.
cat >"$WORK/bad.toml" <<'TOML'
[broker]
num.partitions = 0
TOML
out=$("$FERRY" serve --config "$WORK/bad.toml" --data-dir "$WORK/d1" 2>&1)
rc=$?
check "bad config exits 2 (got $rc)" test "$rc" = 2
check "bad config names file:line: key ($out)" grep -q "bad.toml:2: num.partitions" <<<"$out"

# 2. An unknown key and a syntax error, too.
printf '[broker]\nnode.id = 1\nno.such.key = 3\n' >"$WORK/unknown.toml"
out=$("$FERRY" serve --config "$WORK/unknown.toml" 2>&1)
check "unknown key exits 2" test $? = 2
check "unknown key is named with its line ($out)" grep -q "unknown.toml:3: no.such.key" <<<"$out"
printf '[broker\n' >"$WORK/syntax.toml"
out=$("$FERRY" serve --config "$WORK/syntax.toml" 2>&1)
check "syntax error exits 2" test $? = 2
check "syntax error names the file and line ($out)" grep -q "syntax.toml:1" <<<"$out"
out=$("$FERRY" serve --listen nonsense 2>&1)
check "a bad --listen exits 2 ($out)" test $? = 2

# 3. The file's settings apply and flags override them; SIGTERM stops it with exit 0.
cat >"$WORK/good.toml" <<TOML
[broker]
data.dir = "$WORK/from-file"
listen = "127.0.0.1:0"
log.level = "debug"
TOML
start --config "$WORK/good.toml" --data-dir "$WORK/from-flag" --log-level info
check "starts and listens" wait_for "$LOG" "serving on 127.0.0.1:"
check "the --data-dir flag overrides the file" test -f "$WORK/from-flag/cluster.id"
check "the file's data dir is not used" test ! -e "$WORK/from-file"
check "the --log-level flag overrides the file (no debug lines)" bash -c "! grep -q DEBUG '$LOG'"
kill -TERM "$PID"
wait_exit "$PID"
check "SIGTERM exits 0 (got $RC)" test "$RC" = 0
check "shutdown is logged as clean" grep -q "stopped cleanly" "$LOG"

# 4. SIGINT likewise, and the data dir is reused with the same cluster id.
id1=$(cat "$WORK/from-flag/cluster.id")
start --data-dir "$WORK/from-flag" --listen 127.0.0.1:0
check "restarts on the same data dir" wait_for "$LOG" "serving on 127.0.0.1:"
check "the cluster id is kept" grep -q "cluster $id1" "$LOG"
port=$(grep -o "serving on 127.0.0.1:[0-9]*" "$LOG" | head -1 | cut -d: -f2)

# 5. A second broker on the same port fails to start with exit 1 and says why.
out=$("$FERRY" serve --data-dir "$WORK/other" --listen "127.0.0.1:$port" 2>&1)
rc=$?
check "a busy port exits 1 (got $rc)" test "$rc" = 1
check "a busy port is explained ($out)" grep -qi "address already in use" <<<"$out"

kill -INT "$PID"
wait_exit "$PID"
check "SIGINT exits 0 (got $RC)" test "$RC" = 0

echo "$fails failure(s)"
[ "$fails" = 0 ]
