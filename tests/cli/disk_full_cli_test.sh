#!/usr/bin/env bash
# A full disk needs no restart: `ferry serve` on an 8 MiB tmpfs is filled by a producer until
# KAFKA_STORAGE_ERROR reaches it; a topic deleted through the Kafka API (ferry topics) frees
# space, produce works again in the same process ("appends resumed"); filled again, SIGTERM still
# stops it with exit 0, and every acknowledged record is read back after a restart.
# Needs permission to mount a tmpfs; otherwise it is skipped (exit 77).
#
#   disk_full_cli_test.sh PATH/TO/ferry
set -uo pipefail
FERRY=$1
PY=/usr/bin/python3
. "$(dirname "$0")/lib.sh"
MNT=$WORK/mnt
mkdir -p "$MNT"
if ! mount -t tmpfs -o size=8m ferry-test "$MNT" 2>/dev/null; then
  echo "SKIP: cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN)"
  exit 77
fi
trap 'for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done; umount "$MNT"; rm -rf "$WORK"' EXIT
ln -s "$MNT" "$WORK/data"
# log.dir.min.free.bytes = 0: this test is about a write that meets ENOSPC (the free-space
# threshold and disk.full.policy are tested by tests/mirror/test_disk_full.py). Batches are
# stored as sent (compression.type = producer): the 100 KiB values of x must fill the tmpfs.
BROKER_TOML='auto.create.topics.enable = false
log.dir.min.free.bytes = 0
[topic_defaults]
segment.bytes = 1048576
compression.type = "producer"'
start_broker "$BROKER_TOML"
topics() { timeout 60 "$FERRY" topics --bootstrap "$BS" --timeout 10000 "$@"; }
check "create trash" topics --create --topic trash >/dev/null
check "create keep" topics --create --topic keep >/dev/null

# produce.py TOPIC MAX RETRIES: sends 100 KiB records (acks=all) until one fails or MAX were
# acknowledged; prints "<acknowledged> <first error name or OK>".
cat >"$WORK/produce.py" <<'PYEOF'
import sys
from confluent_kafka import Producer
bs, topic, limit, retries = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
p = Producer({"bootstrap.servers": bs, "acks": "all", "retries": retries,
              "message.timeout.ms": 20000, "linger.ms": 0})
state = {"ok": 0, "err": None}
def report(err, msg):
    if err is None:
        state["ok"] += 1
    elif state["err"] is None:
        state["err"] = err.name()
value = b"x" * (100 << 10)
for i in range(limit):
    p.produce(topic, value, partition=0, on_delivery=report)
    p.flush(30)
    if state["err"]:
        break
print(state["ok"], state["err"] or "OK")
PYEOF
produce() { timeout 120 "$PY" "$WORK/produce.py" "$BS" "$@"; }

read -r trash_ok trash_err <<<"$(produce trash 25 0)"
same "2.5 MB into trash" "25 OK" "$trash_ok $trash_err"
read -r keep_ok keep_err <<<"$(produce keep 200 0)"
same "filling the disk ends with KAFKA_STORAGE_ERROR" KAFKA_STORAGE_ERROR "$keep_err"
check "some records were acknowledged before ($keep_ok)" test "$keep_ok" -gt 5
check "the broker logged the full disk" grep -q "disk full, appends paused" "$WORK/serve.log"
check "the process still runs" kill -0 "$BROKER"

out=$(topics --delete --topic trash 2>&1)
check "deleting a topic on a full disk works ($out)" test $? = 0
# Retries (KAFKA_STORAGE_ERROR is retriable) carry the producer past the probe interval.
read -r again_ok again_err <<<"$(produce keep 3 10)"
same "produce works again without a restart" "3 OK" "$again_ok $again_err"
check "the broker logged that appends resumed" grep -q "appends resumed" "$WORK/serve.log"

read -r fill_ok fill_err <<<"$(produce keep 200 0)"
same "filled again" KAFKA_STORAGE_ERROR "$fill_err"
stop "$BROKER"
check "SIGTERM on a full disk exits 0 (got $RC)" test "$RC" = 0
check "it stopped cleanly" grep -q "stopped cleanly" "$WORK/serve.log"
cp "$WORK/serve.log" "$WORK/serve-full.log"

total=$((keep_ok + again_ok + fill_ok))
start_broker "$BROKER_TOML"
got=$(timeout 60 kcat -C -b "$BS" -t keep -o beginning -e -q -f '%o\n' 2>/dev/null | wc -l)
same "every acknowledged record is read back after a restart" "$total" "$got"
stop "$BROKER"
check "the second stop exits 0 (got $RC)" test "$RC" = 0

if [ "$fails" != 0 ]; then
  echo "--- the broker's log (last 40 lines)"
  tail -40 "$WORK/serve-full.log" 2>/dev/null || tail -40 "$WORK/serve.log"
fi
echo "$fails failures"
[ "$fails" = 0 ]
