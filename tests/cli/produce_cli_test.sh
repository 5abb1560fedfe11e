#!/usr/bin/env bash
# `ferry produce` against a running `ferry serve`, with kcat as the independent reader: 10000
# lines in, the same records out in order per partition; keys (--key-separator) land where
# librdkafka's murmur2_random partitioner puts them; lz4, idempotence, acks, --partition,
# --file, --json; exit codes (1 a Kafka or connection error, 2 usage).
#
#   produce_cli_test.sh PATH/TO/ferry
set -uo pipefail
FERRY=$1
. "$(dirname "$0")/lib.sh"
start_broker 'auto.create.topics.enable = true
num.partitions = 3'
produce() { timeout 120 "$FERRY" produce --bootstrap "$BS" --timeout 10000 "$@"; }
consume() {  # consume TOPIC FORMAT
  timeout 60 kcat -C -b "$BS" -t "$1" -o beginning -e -q -f "$2"
}
# Lines "P REST" grouped by partition, input order kept within each: what a reader of each
# partition must see.
by_partition() { sort -s -n -k1,1; }

# 1. 10000 unkeyed lines: every record back, in order within its partition.
seq 1 10000 | sed 's/^/line-/' >"$WORK/plain.txt"
produce --topic plain <"$WORK/plain.txt" >"$WORK/plain.out"
same "plain: exit code" 0 "$?"
check "plain: summary counts 10000 records" grep -q "^10000 records" "$WORK/plain.out"
consume plain '%p %s\n' >"$WORK/plain.got"
same "plain: the same records back" "$(sort "$WORK/plain.txt")" \
  "$(cut -d' ' -f2 "$WORK/plain.got" | sort)"
ordered=1
for p in 0 1 2; do
  got=$(awk -v p=$p '$1 == p { print $2 }' "$WORK/plain.got")
  [ -z "$got" ] && continue
  want=$(grep -Fx -f <(echo "$got") "$WORK/plain.txt")
  [ "$got" = "$want" ] || ordered=0
done
check "plain: each partition in input order" [ $ordered = 1 ]

# 2. Keyed, lz4, idempotent: the records back, keys where murmur2 puts them, in order.
for i in $(seq 1 10000); do echo "key$((i % 37)):value-$i"; done >"$WORK/keyed.txt"
produce --topic keyed --key-separator : --compression lz4 --idempotent --json \
  <"$WORK/keyed.txt" >"$WORK/keyed.json"
same "keyed: exit code" 0 "$?"
check "keyed: --json summary" grep -q '"records":10000' "$WORK/keyed.json"
consume keyed '%p %k:%s\n' >"$WORK/keyed.got"
same "keyed: the same records back" "$(sort "$WORK/keyed.txt")" \
  "$(cut -d' ' -f2 "$WORK/keyed.got" | sort)"
ordered=1
for p in 0 1 2; do
  got=$(awk -v p=$p '$1 == p { print $2 }' "$WORK/keyed.got")
  [ -z "$got" ] && continue
  want=$(grep -Fx -f <(echo "$got") "$WORK/keyed.txt")
  [ "$got" = "$want" ] || ordered=0
done
check "keyed: each partition in input order" [ $ordered = 1 ]
# librdkafka's murmur2_random is Java's partitioner: the same key -> partition map.
for i in $(seq 0 36); do echo "key$i:x"; done |
  timeout 60 kcat -P -b "$BS" -t reference -K: -X partitioner=murmur2_random
same "keyed: partitions as Kafka's murmur2 partitioner" \
  "$(consume reference '%k %p\n' | sort -u)" \
  "$(awk '{ split($2, kv, ":"); print kv[1], $1 }' "$WORK/keyed.got" | sort -u)"

# 3. --partition, --acks 1, --file, --linger-ms.
seq 1 500 >"$WORK/small.txt"
produce --topic fixed --partition 2 --acks 1 --linger-ms 0 --file "$WORK/small.txt" \
  >"$WORK/fixed.out"
same "fixed: exit code" 0 "$?"
check "fixed: summary names partition 2 and its offsets" grep -q "partition 2: 500 records, offsets 0-499" "$WORK/fixed.out"
same "fixed: all in partition 2, in order" "$(sed 's/^/2 /' "$WORK/small.txt")" \
  "$(consume fixed '%p %s\n')"

# 4. --acks 0: no offsets, records still arrive.
seq 1 100 | produce --topic noacks --partition 0 --acks 0 >"$WORK/noacks.out"
same "acks 0: exit code" 0 "$?"
# acks=0 has nothing to wait for: poll (bounded) until the broker has appended them.
for i in $(seq 1 40); do
  [ "$(consume noacks '%s\n' | wc -l)" -ge 100 ] && break
  sleep 0.1
done
same "acks 0: records arrive" "$(seq 1 100)" "$(consume noacks '%s\n')"

# 5. Input that arrives slowly (a terminal, a pipe from a slow writer): each line goes out without
# waiting for the end of the input. The writer sends its second line only once a reader has seen
# the first (bounded: 10 s).
{
  echo first
  for i in $(seq 1 100); do
    if [ "$(consume slow '%s\n' 2>/dev/null)" = first ]; then
      touch "$WORK/slow.seen"
      break
    fi
    sleep 0.1
  done
  echo second
} | produce --topic slow --partition 0 >/dev/null
same "slow input: exit code" 0 "$?"
same "slow input: both records" "$(printf 'first\nsecond')" "$(consume slow '%s\n')"
check "slow input: the first was delivered while the input was open" [ -e "$WORK/slow.seen" ]

# 6. Exit codes.
echo x | "$FERRY" produce --bootstrap "$BS" >/dev/null 2>&1
same "no --topic: usage" 2 "$?"
echo x | "$FERRY" produce --bootstrap "$BS" --topic t --acks 2 >/dev/null 2>&1
same "bad --acks: usage" 2 "$?"
echo x | "$FERRY" produce --bootstrap "$BS" --topic t --acks 1 --idempotent >/dev/null 2>&1
same "--idempotent without --acks all: usage" 2 "$?"
echo x | "$FERRY" produce --bootstrap "$BS" --topic t --compression zstd >/dev/null 2>&1
same "bad --compression: usage" 2 "$?"
"$FERRY" produce --bootstrap "$BS" --topic t --file "$WORK/missing.txt" >/dev/null 2>&1
same "missing --file: usage" 2 "$?"
# A port nothing listens on: take a fresh one and close it.
DEAD=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
echo x | timeout 60 "$FERRY" produce --bootstrap "127.0.0.1:$DEAD" --topic t --timeout 1000 \
  >/dev/null 2>"$WORK/dead.err"
same "no broker: Kafka error" 1 "$?"
check "no broker: the error is named" grep -q "^ferry produce: NETWORK_EXCEPTION: " "$WORK/dead.err"
echo x | timeout 60 "$FERRY" produce --bootstrap "127.0.0.1:$DEAD" --topic t --partition 0 \
  --idempotent --timeout 1000 >/dev/null 2>"$WORK/dead2.err"
same "no broker, idempotent, explicit partition: Kafka error" 1 "$?"
check "no broker, idempotent: the error is named" grep -q "^ferry produce: NETWORK_EXCEPTION: " "$WORK/dead2.err"

if [ $fails -ne 0 ]; then
  echo "$fails check(s) failed"
  exit 1
fi
echo "all checks passed"
