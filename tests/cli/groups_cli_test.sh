#!/usr/bin/env bash
# `ferry groups` against a running `ferry serve`, with kcat and confluent-kafka-python as the
# independent clients: list, describe (offsets, log end, lag, members of a live group), reset
# (dry run, --execute, every target), delete, and the exit codes (1 Kafka error, 2 usage).
#
#   groups_cli_test.sh PATH/TO/ferry
set -uo pipefail
FERRY=$1
PY=/usr/bin/python3
. "$(dirname "$0")/lib.sh"
start_broker 'auto.create.topics.enable = false
group.initial.rebalance.delay.ms = 0'
groups() { timeout 60 "$FERRY" groups --bootstrap "$BS" --timeout 10000 "$@"; }
# Partition rows of a human-readable describe: "TOPIC PARTITION CURRENT LOG-END LAG".
rows() { awk '$1 != "GROUP" && NF == 9 { print $2, $3, $4, $5, $6 }'; }

# Python helpers: create topics, produce with timestamps, commit offsets, read them back.
py() { timeout 60 "$PY" - "$BS" "$@"; }
py <<'PYEOF'
import sys
from confluent_kafka.admin import AdminClient, NewTopic
a = AdminClient({"bootstrap.servers": sys.argv[1]})
for f in a.create_topics([NewTopic("orders", 3, 1), NewTopic("timed", 1, 1)]).values():
    f.result(30)
PYEOF
check "topics created" test $? = 0

# orders: 5 records in partition 0, 3 in partition 1, 4 in partition 2, produced with kcat.
for spec in 0:5 1:3 2:4; do
  p=${spec%:*} n=${spec#*:}
  for i in $(seq 1 "$n"); do echo "k$i:p$p-v$i"; done |
    timeout 30 kcat -P -b "$BS" -t orders -p "$p" -K: 2>"$WORK/kcat.err"
  check "kcat produced $n records to orders-$p" test $? = 0
done
# timed: 4 records at 2023-11-14T22:13:20Z plus 0, 1, 2 and 3 minutes.
py <<'PYEOF'
import sys
from confluent_kafka import Producer
p = Producer({"bootstrap.servers": sys.argv[1]})
for i in range(4):
    p.produce("timed", value=b"t%d" % i, partition=0, timestamp=1700000000000 + i * 60000)
assert p.flush(30) == 0
PYEOF
check "records with known timestamps produced" test $? = 0

# Group "batch" commits orders-0 at 2, orders-1 at 3, orders-2 at 1 and closes: an Empty group.
commit() {  # commit GROUP TOPIC P:O...
  py "$@" <<'PYEOF'
import sys
from confluent_kafka import Consumer, TopicPartition
bs, group, topic = sys.argv[1:4]
offs = [TopicPartition(topic, int(s.split(":")[0]), int(s.split(":")[1])) for s in sys.argv[4:]]
c = Consumer({"bootstrap.servers": bs, "group.id": group, "enable.auto.commit": False})
c.assign(offs)
c.commit(offsets=offs, asynchronous=False)
c.close()
PYEOF
}
committed() {  # committed GROUP TOPIC PARTITIONS -> "p:offset ..." as the group's consumer sees it
  py "$@" <<'PYEOF'
import sys
from confluent_kafka import Consumer, TopicPartition
bs, group, topic, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
c = Consumer({"bootstrap.servers": bs, "group.id": group, "enable.auto.commit": False})
got = c.committed([TopicPartition(topic, p) for p in range(n)], timeout=30)
print(" ".join("%d:%d" % (t.partition, t.offset) for t in got))
c.close()
PYEOF
}
commit batch orders 0:2 1:3 2:1
check "offsets committed for group batch" test $? = 0
commit timegroup timed 0:4
check "offsets committed for group timegroup" test $? = 0

# 1. --list
out=$(groups --list)
check "--list exits 0" test $? = 0
same "--list shows both groups" "batch
timegroup" "$out"
out=$(groups --list --json)
# Groups that only ever committed offsets have no protocol type.
same "--list --json" '[{"group":"batch","protocol_type":""},{"group":"timegroup","protocol_type":""}]' "$out"

# 2. --describe: committed offset, log end offset and lag per partition.
out=$(groups --describe --group batch)
check "--describe exits 0" test $? = 0
check "--describe shows the state Empty" grep -q "state Empty" <<<"$out"
same "--describe rows" "orders 0 2 5 3
orders 1 3 3 0
orders 2 1 4 3" "$(rows <<<"$out")"
check "--describe has the Kafka tool's columns" grep -Eq \
  "^GROUP +TOPIC +PARTITION +CURRENT-OFFSET +LOG-END-OFFSET +LAG +CONSUMER-ID +HOST +CLIENT-ID$" \
  <<<"$out"
out=$(groups --describe --group batch --json)
check "--describe --json" grep -q '"state":"Empty".*"partitions":\[{"topic":"orders","partition":0,"current_offset":2,"log_end_offset":5,"lag":3,"consumer_id":null' <<<"$out"

# 3. --reset-offsets --to-earliest without --execute plans and changes nothing.
out=$(groups --reset-offsets --group batch --topic orders --to-earliest 2>"$WORK/err")
check "dry run exits 0" test $? = 0
check "dry run says so" grep -q "Dry run" "$WORK/err"
same "dry run plan" "GROUP  TOPIC   PARTITION  NEW-OFFSET
batch  orders  0          0
batch  orders  1          0
batch  orders  2          0" "$out"
same "dry run left the offsets alone" "orders 0 2 5 3
orders 1 3 3 0
orders 2 1 4 3" "$(groups --describe --group batch | rows)"

# 4. --execute commits them.
out=$(groups --reset-offsets --group batch --topic orders --to-earliest --execute)
check "--to-earliest --execute exits 0" test $? = 0
same "--to-earliest --execute: describe" "orders 0 0 5 5
orders 1 0 3 3
orders 2 0 4 4" "$(groups --describe --group batch | rows)"
same "--to-earliest --execute: the consumer sees it" "0:0 1:0 2:0" "$(committed batch orders 3)"

# 5. --to-offset (clamped to the log end), --shift-by -1, --to-latest, --json.
groups --reset-offsets --group batch --topic orders --to-offset 4 --execute >/dev/null
check "--to-offset exits 0" test $? = 0
same "--to-offset 4, clamped to [start, end]" "0:4 1:3 2:4" "$(committed batch orders 3)"
out=$(groups --reset-offsets --group batch --topic orders --shift-by -1 --execute --json)
check "--shift-by -1 exits 0" test $? = 0
same "--shift-by -1 --json" '{"group":"batch","executed":true,"partitions":[{"topic":"orders","partition":0,"current_offset":4,"new_offset":3},{"topic":"orders","partition":1,"current_offset":3,"new_offset":2},{"topic":"orders","partition":2,"current_offset":4,"new_offset":3}]}' "$out"
same "--shift-by -1: the consumer sees it" "0:3 1:2 2:3" "$(committed batch orders 3)"
groups --reset-offsets --group batch --topic orders --to-latest --execute >/dev/null
same "--to-latest" "0:5 1:3 2:4" "$(committed batch orders 3)"

# 6. --to-datetime: the first record at or after the time; after the last record, the log end.
plan() { groups --reset-offsets --group timegroup --topic timed "$@" 2>/dev/null | awk '$1 == "timegroup" { print $4 }'; }
same "--to-datetime before every record" 0 "$(plan --to-datetime 2023-11-14T22:00:00Z)"
same "--to-datetime between records (UTC)" 2 "$(plan --to-datetime 2023-11-14T22:14:30.000Z)"
same "--to-datetime with a zone offset" 2 "$(plan --to-datetime 2023-11-15T00:14:30+02:00)"
same "--to-datetime on a record's time" 3 "$(plan --to-datetime 2023-11-14T22:16:20Z)"
same "--to-datetime after every record" 4 "$(plan --to-datetime 2030-01-01T00:00:00Z)"
groups --reset-offsets --group timegroup --topic timed --to-datetime 2023-11-14T22:14:30Z \
  --execute >/dev/null
same "--to-datetime --execute" "0:2" "$(committed timegroup timed 1)"

# 7. A live group: its member and partitions are shown; offsets cannot be reset under it.
cat >"$WORK/member.py" <<'PYEOF'
import signal, sys
from confluent_kafka import Consumer
bs, out = sys.argv[1], sys.argv[2]
stop = []
signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
c = Consumer({"bootstrap.servers": bs, "group.id": "live", "client.id": "live-client",
              "enable.auto.commit": False, "session.timeout.ms": 6000,
              "heartbeat.interval.ms": 500})
def assigned(consumer, parts):
    with open(out, "a") as f:
        f.write("assigned %d\n" % len(parts))
c.subscribe(["orders"], on_assign=assigned)
while not stop:
    c.poll(0.1)
c.close()
PYEOF
"$PY" "$WORK/member.py" "$BS" "$WORK/member.out" &
MEMBER=$!
PIDS+=("$MEMBER")
check "the live member got its partitions" wait_for "$WORK/member.out" "assigned 3"
out=$(groups --describe --group live)
check "--describe of a live group exits 0" test $? = 0
check "the live group is Stable" grep -q "state Stable, 1 member" <<<"$out"
members=$(awk '$1 == "live" { print $2, $3, $7 != "-", $9 }' <<<"$out")
same "each partition shows its member and client id" "orders 0 1 live-client
orders 1 1 live-client
orders 2 1 live-client" "$members"
check "the member's host is shown" bash -c "awk '\$1 == \"live\" { print \$8 }' <<<'$out' | grep -q 127.0.0.1"
out=$(groups --describe --group live --json)
check "--describe --json lists the member's assignment" grep -q '"client_id":"live-client".*"assignment":\[{"topic":"orders","partitions":\[0,1,2\]}\]' <<<"$out"
out=$(groups --reset-offsets --group live --topic orders --to-earliest --execute 2>&1)
rc=$?
check "--execute on a live group exits 1 (got $rc)" test "$rc" = 1
check "--execute on a live group prints the broker's error ($out)" grep -Eq "^ferry groups: [A-Z_]+: " <<<"$out"
stop "$MEMBER"
check "the live member closed cleanly (exit $RC)" test "$RC" = 0
out=$(groups --describe --group live)
check "after it left, the group is Empty" grep -q "state Empty, 0 members" <<<"$out"
groups --reset-offsets --group live --topic orders --to-offset 1 --execute >/dev/null
check "then --execute succeeds" test $? = 0
same "... and commits" "0:1 1:1 2:1" "$(committed live orders 3)"

# 8. --delete, then the group is gone.
out=$(groups --delete --group batch)
check "--delete exits 0" test $? = 0
check "--delete reports success" grep -q "successful" <<<"$out"
out=$(groups --describe --group batch 2>&1)
rc=$?
check "--describe of a deleted group exits 1 (got $rc)" test "$rc" = 1
check "--describe says it does not exist ($out)" grep -q "GROUP_ID_NOT_FOUND: .*does not exist" <<<"$out"
check "--list no longer shows it" bash -c "! grep -qx batch <<<'$(groups --list)'"

# 9. Exit codes.
out=$(groups --delete --group batch 2>&1)
rc=$?
check "deleting a missing group exits 1 (got $rc)" test "$rc" = 1
check "... naming the error ($out)" grep -q "GROUP_ID_NOT_FOUND" <<<"$out"
groups --describe >/dev/null 2>&1
check "--describe without --group exits 2" test $? = 2
groups --list --describe >/dev/null 2>&1
check "two actions exit 2" test $? = 2
groups --no-such-flag >/dev/null 2>&1
check "an unknown flag exits 2" test $? = 2
groups --reset-offsets --group g --topic orders >/dev/null 2>&1
check "--reset-offsets without a target exits 2" test $? = 2
groups --reset-offsets --group g --topic orders --to-datetime yesterday >/dev/null 2>&1
check "a bad --to-datetime exits 2" test $? = 2
groups --reset-offsets --group batch --topic no-such-topic --to-latest >/dev/null 2>&1
check "an unknown topic exits 1" test $? = 1
out=$(timeout 60 "$FERRY" groups --bootstrap 127.0.0.1:1 --list 2>&1)
check "no broker exits 1 ($out)" test $? = 1

# SASL options: usage errors exit 2; ferry serve offers no SASL, so authenticating exits 1 with a
# clear message that never shows the password.
groups --list --sasl-mechanism GSSAPI --sasl-username u --sasl-password p >/dev/null 2>&1
check "an unknown --sasl-mechanism exits 2" test $? = 2
groups --list --sasl-mechanism PLAIN --sasl-password p >/dev/null 2>&1
check "--sasl-mechanism without --sasl-username exits 2" test $? = 2
groups --list --sasl-username u >/dev/null 2>&1
check "--sasl-username without --sasl-mechanism exits 2" test $? = 2
groups --list --sasl-mechanism PLAIN --sasl-username u --sasl-password-file "$WORK/missing" \
  >/dev/null 2>&1
check "an unreadable --sasl-password-file exits 2" test $? = 2
printf 'Sup3rSecret\n' >"$WORK/password"
out=$(groups --list --sasl-mechanism SCRAM-SHA-256 --sasl-username u \
  --sasl-password-file "$WORK/password" 2>&1)
rc=$?
check "SASL against a broker without it exits 1 (got $rc)" test "$rc" = 1
check "... naming UNSUPPORTED_SASL_MECHANISM ($out)" grep -q UNSUPPORTED_SASL_MECHANISM <<<"$out"
check "... without the password" test "$(grep -c Sup3rSecret <<<"$out")" = 0

stop "$BROKER"
check "the broker stopped cleanly (exit $RC)" test "$RC" = 0
echo "$fails failure(s)"
[ "$fails" = 0 ]
