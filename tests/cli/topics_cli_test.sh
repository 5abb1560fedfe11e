#!/usr/bin/env bash
# `ferry topics` against a running `ferry serve`, with kcat as the independent client: create
# (partitions, configs, --if-not-exists), list, describe, alter (add partitions), delete
# (--if-exists), and the exit codes (1 Kafka or connection error, 2 usage), including an
# unreachable and a silent bootstrap broker, both answered in bounded time.
#
#   topics_cli_test.sh PATH/TO/ferry
set -uo pipefail
FERRY=$1
PY=/usr/bin/python3
. "$(dirname "$0")/lib.sh"
start_broker 'auto.create.topics.enable = false'
topics() { timeout 60 "$FERRY" topics --bootstrap "$BS" --timeout 10000 "$@"; }
# The partition count of TOPIC as kcat sees it in Metadata ("" when kcat does not list it).
kcat_partitions() {
  timeout 30 kcat -L -b "$BS" -J 2>/dev/null | "$PY" -c '
import json, sys
md = json.load(sys.stdin)
print(" ".join(str(len(t["partitions"])) for t in md["topics"] if t["topic"] == sys.argv[1]))' "$1"
}
# Partition rows of a human-readable describe: "PARTITION LEADER REPLICAS ISR".
rows() { awk -F'\t' '$1 == "" { print $3, $4, $5, $6 }'; }
expect_error() {  # expect_error DESCRIPTION RC ERROR_NAME COMMAND...
  local what=$1 want_rc=$2 name=$3 out rc
  shift 3
  out=$("$@" 2>&1 >/dev/null)
  rc=$?
  check "$what exits $want_rc (got $rc)" test "$rc" = "$want_rc"
  [ -n "$name" ] && check "$what names $name ($out)" grep -Eq "^ferry topics: $name: " <<<"$out"
}

# 1. --create with partitions and a config; kcat sees the partitions.
out=$(topics --create --topic orders --partitions 3 --config retention.ms=3600000)
check "--create exits 0" test $? = 0
same "--create reports it" "Created topic orders." "$out"
same "kcat sees 3 partitions" 3 "$(kcat_partitions orders)"
topics --create --topic plain --json >"$WORK/out"
check "--create with the broker's defaults exits 0" test $? = 0
same "--create --json" '{"topic":"plain","created":true}' "$(cat "$WORK/out")"
same "kcat sees plain's default partition count" 1 "$(kcat_partitions plain)"

# 2. Creating it again: TOPIC_ALREADY_EXISTS unless --if-not-exists.
expect_error "creating an existing topic" 1 TOPIC_ALREADY_EXISTS \
  topics --create --topic orders --partitions 3
out=$(topics --create --topic orders --partitions 3 --if-not-exists)
check "--if-not-exists exits 0" test $? = 0
check "--if-not-exists says nothing was done ($out)" grep -q "already exists" <<<"$out"
same "--if-not-exists --json" '{"topic":"orders","created":false}' \
  "$(topics --create --topic orders --if-not-exists --json)"
expect_error "a replication factor above the broker count" 1 INVALID_REPLICATION_FACTOR \
  topics --create --topic rf --replication-factor 3
expect_error "an unknown topic config" 1 INVALID_CONFIG \
  topics --create --topic bad --config no.such.config=1
same "failed creates leave nothing behind" "" "$(kcat_partitions rf)$(kcat_partitions bad)"

# 3. --list, text and JSON.
out=$(topics --list)
check "--list exits 0" test $? = 0
same "--list" "orders
plain" "$out"
same "--list --json" '[{"topic":"orders"},{"topic":"plain"}]' "$(topics --list --json)"

# 4. --describe: partition count, replication factor, the non-default config, leaders.
out=$(topics --describe --topic orders)
check "--describe exits 0" test $? = 0
same "--describe header" "Topic: orders	PartitionCount: 3	ReplicationFactor: 1	Configs: retention.ms=3600000" \
  "$(head -1 <<<"$out")"
same "--describe partitions" "Partition: 0 Leader: 0 Replicas: 0 Isr: 0
Partition: 1 Leader: 0 Replicas: 0 Isr: 0
Partition: 2 Leader: 0 Replicas: 0 Isr: 0" "$(rows <<<"$out")"
out=$(topics --describe)
check "--describe of every topic shows both" \
  test "$(grep -c '^Topic: ' <<<"$out")" = 2
check "plain has no non-default configs" grep -q "^Topic: plain	PartitionCount: 1	ReplicationFactor: 1	Configs: $" <<<"$out"
out=$(topics --describe --topic orders --json)
check "--describe --json" grep -q '^\[{"topic":"orders","internal":false,"partition_count":3,"replication_factor":1,"configs":{"retention.ms":"3600000"},"partitions":\[{"partition":0,"leader":0,"replicas":\[0\],"isr":\[0\],"offline":\[\]},' <<<"$out"
expect_error "describing a missing topic" 1 UNKNOWN_TOPIC_OR_PARTITION \
  topics --describe --topic no-such-topic
out=$(topics --describe --topic no-such-topic --if-exists)
check "--describe --if-exists of a missing topic exits 0" test $? = 0
same "... and prints nothing" "" "$out"

# 5. --alter: 3 -> 5 partitions; fewer is INVALID_PARTITIONS.
out=$(topics --alter --topic orders --partitions 5)
check "--alter exits 0" test $? = 0
same "--describe shows 5 partitions" "Topic: orders	PartitionCount: 5	ReplicationFactor: 1	Configs: retention.ms=3600000" \
  "$(topics --describe --topic orders | head -1)"
same "... with 5 partition rows" 5 "$(topics --describe --topic orders | rows | wc -l)"
same "kcat sees 5 partitions" 5 "$(kcat_partitions orders)"
expect_error "--alter to fewer partitions" 1 INVALID_PARTITIONS \
  topics --alter --topic orders --partitions 3
expect_error "--alter of a missing topic" 1 UNKNOWN_TOPIC_OR_PARTITION \
  topics --alter --topic no-such-topic --partitions 3
topics --alter --topic no-such-topic --partitions 3 --if-exists >/dev/null
check "--alter --if-exists of a missing topic exits 0" test $? = 0

# 6. --delete; a missing topic is UNKNOWN_TOPIC_OR_PARTITION unless --if-exists.
out=$(topics --delete --topic orders)
check "--delete exits 0" test $? = 0
same "--delete reports it" "Deleted topic orders." "$out"
same "--list no longer has it" "plain" "$(topics --list)"
same "kcat no longer sees it" "" "$(kcat_partitions orders)"
expect_error "deleting a missing topic" 1 UNKNOWN_TOPIC_OR_PARTITION topics --delete --topic orders
out=$(topics --delete --topic orders --if-exists)
check "--delete --if-exists of a missing topic exits 0" test $? = 0
same "--delete --json" '[{"topic":"plain","deleted":true}]' "$(topics --delete --topic plain --json)"
same "no topics left" "" "$(topics --list)"

# 7. Usage errors exit 2 without contacting a broker.
usage() {  # usage DESCRIPTION ARGS...
  local what=$1
  shift
  timeout 10 "$FERRY" topics --bootstrap 127.0.0.1:1 "$@" >/dev/null 2>&1
  local rc=$?
  check "$what exits 2 (got $rc)" test "$rc" = 2
}
usage "no action"
usage "two actions" --list --describe
usage "--create without --topic" --create
usage "--create with two topics" --create --topic a --topic b
usage "--alter without --partitions" --alter --topic a
usage "--partitions 0" --create --topic a --partitions 0
usage "--config without =" --create --topic a --config retention.ms
usage "--config given twice" --create --topic a --config a=1 --config a=2
usage "--config with --alter" --alter --topic a --partitions 2 --config a=1
usage "--if-not-exists with --delete" --delete --topic a --if-not-exists
usage "--delete without --topic" --delete
usage "--list with --topic" --list --topic a
usage "an unknown flag" --list --no-such-flag
usage "a bad --bootstrap" --list --bootstrap nowhere

# 8. Connection errors exit 1, in bounded time: nothing listening, and a peer that never answers.
out=$(timeout 60 "$FERRY" topics --bootstrap 127.0.0.1:1 --timeout 2000 --list 2>&1)
rc=$?
check "no broker exits 1 (got $rc)" test "$rc" = 1
check "... with a clear message ($out)" grep -q "^ferry topics: NETWORK_EXCEPTION: .*127.0.0.1:1" <<<"$out"
"$PY" - "$WORK/silent.port" <<'PYEOF' &
import os, socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(8)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
conns = []
while True:
    c, _ = s.accept()
    conns.append(c)  # never answers
PYEOF
SILENT=$!
PIDS+=("$SILENT")
for i in $(seq 1 200); do [ -s "$WORK/silent.port" ] && break; sleep 0.05; done
start=$(date +%s)
out=$(timeout 60 "$FERRY" topics --bootstrap "127.0.0.1:$(cat "$WORK/silent.port")" --timeout 1000 \
  --list 2>&1)
rc=$?
elapsed=$(($(date +%s) - start))
check "a silent broker exits 1 (got $rc)" test "$rc" = 1
check "... within the timeout (${elapsed}s)" test "$elapsed" -le 10
check "... naming the timeout ($out)" grep -q "^ferry topics: REQUEST_TIMED_OUT: " <<<"$out"
kill "$SILENT" 2>/dev/null
wait "$SILENT" 2>/dev/null

stop "$BROKER"
check "the broker stopped cleanly (exit $RC)" test "$RC" = 0
echo "$fails failure(s)"
[ "$fails" = 0 ]
