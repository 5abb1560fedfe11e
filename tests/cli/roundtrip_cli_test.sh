#!/usr/bin/env bash
# ferry's own tools end to end, no other client involved: `ferry topics` creates a topic,
# `ferry produce` writes 10,000 keyed lines (idempotent, lz4), `ferry consume` reads them back
# identical and in order per partition, a group consumes everything, `ferry groups` shows it has
# no lag, `--reset-offsets --to-earliest --execute` makes the group read everything again, and
# `ferry topics --delete` removes the topic.
#
#   roundtrip_cli_test.sh PATH/TO/ferry
set -uo pipefail
FERRY=$1
. "$(dirname "$0")/lib.sh"
start_broker 'auto.create.topics.enable = false
group.initial.rebalance.delay.ms = 0'
ferry() { timeout 120 "$FERRY" "$1" --bootstrap "$BS" "${@:2}"; }

ferry topics --create --topic lines --partitions 3 --replication-factor 1 >/dev/null
check "ferry topics --create" [ $? -eq 0 ]

# 10,000 lines "sensor-K:N": 16 keys, so every partition gets some and order per key matters.
for i in $(seq 1 10000); do echo "sensor-$((i % 16)):reading-$i"; done >"$WORK/in.txt"
ferry produce --topic lines --key-separator : --compression lz4 --idempotent --json \
  --file "$WORK/in.txt" >"$WORK/produce.json"
check "ferry produce exits 0" [ $? -eq 0 ]
check "ferry produce reports 10000 records" grep -q '"records":10000' "$WORK/produce.json"

# Read back: every line exactly once, and per key (one key = one partition) in the sent order.
ferry consume --topic lines --from-beginning --max-messages 10000 --timeout-ms 20000 \
  --print-key --key-separator : >"$WORK/out.txt"
check "ferry consume exits 0" [ $? -eq 0 ]
same "the same 10000 lines come back" "$(sort "$WORK/in.txt")" "$(sort "$WORK/out.txt")"
for k in 0 7 15; do
  same "key sensor-$k in the order produced" "$(grep "^sensor-$k:" "$WORK/in.txt")" \
    "$(grep "^sensor-$k:" "$WORK/out.txt")"
done

# A group reads everything and commits; then it has no lag.
ferry consume --topic lines --group readers --from-beginning --max-messages 10000 \
  --timeout-ms 20000 >"$WORK/group1.txt"
check "the group read 10000 records" [ "$(wc -l <"$WORK/group1.txt")" -eq 10000 ]
LAG=$(ferry groups --describe --group readers --json)
check "ferry groups --describe: no lag left" \
  /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); \
sys.exit(0 if sum(p["lag"] for p in d["partitions"]) == 0 and len(d["partitions"]) == 3 else 1)' \
  <<<"$LAG"

# Reset to the start: the same group reads all of it again.
ferry groups --reset-offsets --group readers --topic lines --to-earliest --execute >/dev/null
check "ferry groups --reset-offsets --execute" [ $? -eq 0 ]
ferry consume --topic lines --group readers --max-messages 10000 --timeout-ms 20000 \
  >"$WORK/group2.txt"
same "after the reset the group reads the same records again" "$(sort "$WORK/group1.txt")" \
  "$(sort "$WORK/group2.txt")"

ferry topics --delete --topic lines >/dev/null
check "ferry topics --delete" [ $? -eq 0 ]
check "the topic is gone" [ -z "$(ferry topics --list | grep -x lines)" ]

kill -TERM "$BROKER"
wait "$BROKER"
check "ferry serve stopped cleanly" [ $? -eq 0 ]
PIDS=()
if [ $fails -ne 0 ]; then
  echo "$fails check(s) failed; broker log:"
  tail -30 "$WORK/serve.log"
  exit 1
fi
echo "all round-trip checks passed"
