#!/usr/bin/env bash
# A lost meta.db never deletes data: `ferry serve` restarted without meta.db adopts every
# partition directory (a WARN per topic) and kcat reads the same records at the same offsets;
# `ferry data prune` lists set-aside directories and deletes them only with --execute.
#
#   metadata_loss_cli_test.sh PATH/TO/ferry
set -uo pipefail
FERRY=$1
. "$(dirname "$0")/lib.sh"
start_broker 'auto.create.topics.enable = false'
topics() { timeout 60 "$FERRY" topics --bootstrap "$BS" --timeout 10000 "$@"; }
# Every record of TOPIC as "partition offset value", sorted.
dump() {
  timeout 30 kcat -C -b "$BS" -t "$1" -o beginning -e -q -f '%p %o %s\n' 2>/dev/null | sort
}

topics --create --topic one --partitions 1 >/dev/null
topics --create --topic two-parts --partitions 2 --config retention.ms=86400000 >/dev/null
topics --create --topic three.p --partitions 3 >/dev/null
for t in one two-parts three.p; do
  n=$(case $t in one) echo 1 ;; two-parts) echo 2 ;; *) echo 3 ;; esac)
  for p in $(seq 0 $((n - 1))); do
    seq 1 $((5 * (p + 1))) | sed "s/^/$t-$p-/" | timeout 30 kcat -P -b "$BS" -t "$t" -p "$p" \
      -X acks=all 2>>"$WORK/kcat.err"
  done
done
before_one=$(dump one)
before_two=$(dump two-parts)
before_three=$(dump three.p)
check "records were produced" test "$(wc -l <<<"$before_three")" = 30

stop "$BROKER"
check "the broker stopped with exit 0 (got $RC)" test "$RC" = 0
rm -f "$WORK/data/meta.db" "$WORK/data/meta.db-wal" "$WORK/data/meta.db-shm"
start_broker 'auto.create.topics.enable = false'
for t in one two-parts three.p; do
  check "a WARN line adopts $t" grep -q "WARN.*adopting topic $t " "$WORK/serve.log"
done
same "one: same records at the same offsets" "$before_one" "$(dump one)"
same "two-parts: same records at the same offsets" "$before_two" "$(dump two-parts)"
same "three.p: same records at the same offsets" "$before_three" "$(dump three.p)"
echo "after" | timeout 30 kcat -P -b "$BS" -t one -p 0 -X acks=all 2>>"$WORK/kcat.err"
same "a new record follows the adopted ones" "0 5 after" "$(dump one | grep after)"
stop "$BROKER"
check "the broker stopped with exit 0 (got $RC)" test "$RC" = 0

# Prune: nothing, then a quarantined directory listed (dry run) and deleted with --execute.
out=$("$FERRY" data prune --data-dir "$WORK/data")
check "prune on a clean data dir exits 0" test $? = 0
same "prune finds nothing" "nothing to prune in $WORK/data/logs" "$out"
stray="$WORK/data/logs/one-0.AAAAAAAAAAAAAAAAAAAAAA-stray"
mkdir -p "$stray" && printf 'xyz' >"$stray/00000000000000000000.log"
out=$("$FERRY" data prune --data-dir "$WORK/data")
check "a dry run lists the quarantined directory" grep -q "would delete $stray (quarantined, 3 bytes)" <<<"$out"
check "a dry run deletes nothing" test -d "$stray"
"$FERRY" data prune --data-dir "$WORK/data" --execute >/dev/null
check "--execute deletes it" test ! -e "$stray"
check "--execute keeps live partitions" test -s "$WORK/data/logs/one-0/00000000000000000000.log"

echo "$fails failures"
[ "$fails" = 0 ]
