#!/usr/bin/env bash
# `ferry consume` against a running `ferry serve`, with kcat (and confluent-kafka-python for
# creating topics) as the independent clients: what kcat produced comes back identical, a group
# resumes from what it committed, --partition/--offset, --json, and the exit codes (1 Kafka or
# connection error, 2 usage).
#
#   consume_cli_test.sh PATH/TO/ferry
set -uo pipefail
FERRY=$1
PY=/usr/bin/python3
. "$(dirname "$0")/lib.sh"
start_broker 'auto.create.topics.enable = false
group.initial.rebalance.delay.ms = 0'
consume() { timeout 60 "$FERRY" consume --bootstrap "$BS" "$@"; }

timeout 60 "$PY" - "$BS" <<'PYEOF'
import sys
from confluent_kafka.admin import AdminClient, NewTopic
a = AdminClient({"bootstrap.servers": sys.argv[1]})
for f in a.create_topics([NewTopic("lines", 1, 1), NewTopic("multi", 3, 1)]).values():
    f.result(30)
PYEOF
check "topics created" test $? = 0

# lines: 10 keyed records, one of them with spaces and a tab-free punctuation mix.
for i in $(seq 1 9); do echo "k$i:value $i"; done >"$WORK/lines.in"
echo 'k10:{"json": [1, 2]} & more' >>"$WORK/lines.in"
timeout 30 kcat -P -b "$BS" -t lines -K: <"$WORK/lines.in" 2>"$WORK/kcat.err"
check "kcat produced 10 records" test $? = 0

out=$(consume --topic lines --from-beginning --max-messages 10)
check "stops after --max-messages with exit 0" test $? = 0
same "values come back identical" "$(cut -d: -f2- "$WORK/lines.in")" "$out"
out=$(consume --topic lines --from-beginning --max-messages 10 --print-key --key-separator :)
same "key:value lines come back identical" "$(cat "$WORK/lines.in")" "$out"
out=$(consume --topic lines --from-beginning --max-messages 3 --print-offset --print-key)
same "--print-offset --print-key" "$(printf '0\tk1\tvalue 1\n1\tk2\tvalue 2\n2\tk3\tvalue 3')" "$out"
out=$(consume --topic lines --timeout-ms 500)
check "idle at the log end: exit 0 after --timeout-ms" test $? = 0
same "nothing new at the log end" "" "$out"

# A group: the first run reads everything and commits, the second finds nothing new, the
# third only what was produced since.
out=$(consume --topic lines --group readers --from-beginning --timeout-ms 1500)
check "group run 1 exits 0" test $? = 0
same "group run 1 reads all 10" "$(cut -d: -f2- "$WORK/lines.in")" "$out"
out=$(consume --topic lines --group readers --from-beginning --timeout-ms 1500)
check "group run 2 exits 0" test $? = 0
same "group run 2 gets nothing new" "" "$out"
printf 'k11:eleven\nk12:twelve\n' | timeout 30 kcat -P -b "$BS" -t lines -K: 2>>"$WORK/kcat.err"
out=$(consume --topic lines --group readers --timeout-ms 1500)
same "group run 3 gets only the new records" "$(printf 'eleven\ntwelve')" "$out"
out=$(consume --topic lines --group half --from-beginning --max-messages 4)
out=$(consume --topic lines --group half --from-beginning --max-messages 2)
same "a group stopped by --max-messages commits what it printed" "$(printf 'value 5\nvalue 6')" "$out"
desc=$(timeout 60 "$FERRY" groups --bootstrap "$BS" --describe --group half | awk '$2 == "lines" { print $4 }')
same "ferry groups sees the committed offset" "6" "$desc"

# multi: 5 records in partition 1, 2 in partition 2.
for i in $(seq 0 4); do echo "m$i:p1-$i"; done | timeout 30 kcat -P -b "$BS" -t multi -p 1 -K: 2>>"$WORK/kcat.err"
for i in $(seq 0 1); do echo "m$i:p2-$i"; done | timeout 30 kcat -P -b "$BS" -t multi -p 2 -K: 2>>"$WORK/kcat.err"
out=$(consume --topic multi --partition 1 --offset 2 --max-messages 3 --print-offset)
same "--partition 1 --offset 2" "$(printf '2\tp1-2\n3\tp1-3\n4\tp1-4')" "$out"
out=$(consume --topic multi --partition 2 --offset earliest --timeout-ms 1000 --print-partition)
same "--partition 2 --offset earliest" "$(printf '2\tp2-0\n2\tp2-1')" "$out"
out=$(consume --topic multi --from-beginning --max-messages 7 | sort)
same "every partition without --partition" "$(printf 'p1-0\np1-1\np1-2\np1-3\np1-4\np2-0\np2-1' | sort)" "$out"

# --json: one object per record, parsed by Python.
consume --topic lines --from-beginning --max-messages 12 --json >"$WORK/json.out"
check "--json exits 0" test $? = 0
"$PY" - "$WORK/json.out" <<'PYEOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == 12, rows
assert [r["offset"] for r in rows] == list(range(12)), rows
assert rows[0] == {"topic": "lines", "partition": 0, "offset": 0, "timestamp": rows[0]["timestamp"],
                   "key": "k1", "value": "value 1", "headers": []}, rows[0]
assert rows[9]["value"] == '{"json": [1, 2]} & more', rows[9]
assert all(isinstance(r["timestamp"], int) and r["timestamp"] > 0 for r in rows)
PYEOF
check "--json lines parse as the records" test $? = 0

# Bytes that are not UTF-8 still make valid JSON: each byte >= 0x80 as U+0080..U+00FF.
printf 'bin:\xff\xfeok\n' | timeout 30 kcat -P -b "$BS" -t multi -p 0 -K: 2>>"$WORK/kcat.err"
consume --topic multi --partition 0 --offset earliest --max-messages 1 --json >"$WORK/bin.out"
"$PY" - "$WORK/bin.out" <<'PYEOF'
import json, sys
row = json.loads(open(sys.argv[1], encoding="utf-8").read())
assert row["value"].encode("latin-1") == b"\xff\xfeok", row
assert row["key"] == "bin", row
PYEOF
check "--json with bytes that are not UTF-8 parses" test $? = 0

# Exit codes.
out=$(consume --topic no-such-topic --max-messages 1 2>&1)
rc=$?
check "an unknown topic exits 1 (got $rc)" test "$rc" = 1
check "the error is named ($out)" grep -q "^ferry consume: UNKNOWN_TOPIC_OR_PARTITION: " <<<"$out"
consume --topic multi --partition 7 --max-messages 1 >/dev/null 2>&1
check "an unknown partition exits 1" test $? = 1
consume --topic lines --offset 3 >/dev/null 2>&1
check "--offset without --partition exits 2" test $? = 2
consume --topic lines --partition 0 --offset soon >/dev/null 2>&1
check "a bad --offset exits 2" test $? = 2
consume --topic lines --group g --partition 0 >/dev/null 2>&1
check "--partition with --group exits 2" test $? = 2
consume --max-messages 1 >/dev/null 2>&1
check "no --topic exits 2" test $? = 2
consume --topic lines --no-such-flag >/dev/null 2>&1
check "an unknown flag exits 2" test $? = 2
out=$(timeout 60 "$FERRY" consume --bootstrap 127.0.0.1:1 --topic lines --max-messages 1 2>&1)
check "no broker exits 1 ($out)" test $? = 1

# SIGTERM while waiting for records: a clean exit 0.
timeout 60 "$FERRY" consume --bootstrap "$BS" --topic lines --group waiting >"$WORK/wait.out" 2>&1 &
WAITER=$!
PIDS+=("$WAITER")
for i in $(seq 1 40); do
  timeout 30 "$FERRY" groups --bootstrap "$BS" --describe --group waiting 2>/dev/null | grep -q "Stable" && break
  sleep 0.1
done
stop "$WAITER"
check "SIGTERM stops a waiting consumer with exit 0 (got $RC)" test "$RC" = 0

stop "$BROKER"
check "the broker stopped cleanly (exit $RC)" test "$RC" = 0
echo "$fails failure(s)"
[ "$fails" = 0 ]
