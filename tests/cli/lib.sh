# Shared by the command-line tests: a scratch directory and the processes to stop on exit,
# checks that count failures, bounded waits, and a `ferry serve` on a free 127.0.0.1 port.
# Source it after setting FERRY (the binary); then `start_broker 'extra [broker] lines'` sets
# BROKER (its pid), PORT and BS (the bootstrap address). The caller reports `fails` at the end.
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
same() {  # same DESCRIPTION EXPECTED ACTUAL (long texts are shown by their first 40 lines)
  if [ "$2" = "$3" ]; then
    echo "ok: $1"
  else
    printf 'FAIL: %s\n--- expected\n%s\n--- got\n%s\n' "$1" "$(head -40 <<<"$2")" \
      "$(head -40 <<<"$3")"
    fails=$((fails + 1))
  fi
}
wait_for() {  # wait_for FILE TEXT: bounded (20 s)
  local file=$1 text=$2 i
  for i in $(seq 1 400); do
    grep -q "$text" "$file" 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}
stop() {  # stop PID: SIGTERM, then SIGKILL after 15 s; RC is its exit status
  local pid=$1 i
  kill -TERM "$pid" 2>/dev/null
  for i in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  RC=$?
}
start_broker() {  # start_broker [EXTRA_BROKER_TOML]: data in $WORK/data, log in $WORK/serve.log
  cat >"$WORK/ferry.toml" <<TOML
[broker]
data.dir = "$WORK/data"
listen = "127.0.0.1:0"
${1:-}
TOML
  "$FERRY" serve --config "$WORK/ferry.toml" >"$WORK/serve.log" 2>&1 &
  BROKER=$!
  PIDS+=("$BROKER")
  if ! wait_for "$WORK/serve.log" "serving on 127.0.0.1:"; then
    cat "$WORK/serve.log"
    echo "FAIL: the broker did not start"
    exit 1
  fi
  PORT=$(grep -o "serving on 127.0.0.1:[0-9]*" "$WORK/serve.log" | head -1 | cut -d: -f2)
  BS=127.0.0.1:$PORT
}
