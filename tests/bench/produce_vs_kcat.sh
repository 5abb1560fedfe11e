#!/usr/bin/env bash
# `ferry produce` against `kcat -P` on one `ferry serve`: the same input file, one topic per run,
# the producers alternating within each round so that the ratios compare like with like on a
# shared machine. Prints msg/s per producer and the ratio to kcat per case and round, then the
# median ratio per case.
#
#   produce_vs_kcat.sh [--ferry PATH] [--before PATH] [--rounds N] [--scale F] [--case TEXT]
#                      [--dir DIR]
#
# --ferry   the ferry binary that serves and is measured (default: build/native/src/app/ferry)
# --before  a second ferry binary measured in the same rounds (e.g. main's), shown as "before"
# --rounds  rounds per case (default 3)
# --scale   multiplies the line counts (default 200,000 x 100 B and 50,000 x 1 KiB)
# --case    only the cases whose name contains TEXT
# --dir     where the scratch directory goes (default $TMPDIR or /tmp)
#
# Cases: {100 B, 1 KiB} x {1, 8 partitions} x {acks=1, acks=all}, keyed lines (16 keys,
# "sensor-K:" then padding), no compression; plus "docs": the workload of the first comparison
# in docs/benchmarks.md (200,000 keyed lines of ~100 B, lz4, acks=all, 1 partition). kcat runs
# with -X linger.ms=5 and its other defaults; ferry produce with its defaults. The broker listens
# on 127.0.0.1 with a port the kernel picks; it is stopped at the end (SIGTERM, then SIGKILL).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
FERRY=$here/../../build/native/src/app/ferry
BEFORE=
ROUNDS=3
SCALE=1
ONLY=
DIR=${TMPDIR:-/tmp}
while [ $# -gt 0 ]; do
  case $1 in
    --ferry) FERRY=$2; shift 2 ;;
    --before) BEFORE=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --scale) SCALE=$2; shift 2 ;;
    --case) ONLY=$2; shift 2 ;;
    --dir) DIR=$2; shift 2 ;;
    *) echo "usage: $0 [--ferry PATH] [--before PATH] [--rounds N] [--scale F] [--case TEXT] [--dir DIR]" >&2; exit 2 ;;
  esac
done
command -v kcat >/dev/null || { echo "produce_vs_kcat: kcat is not installed" >&2; exit 2; }
[ -x "$FERRY" ] || { echo "produce_vs_kcat: no ferry binary at $FERRY" >&2; exit 2; }

WORK=$(mktemp -d "$DIR/produce_vs_kcat.XXXXXX")
BROKER=
cleanup() {
  if [ -n "$BROKER" ]; then
    kill -TERM "$BROKER" 2>/dev/null
    for _ in $(seq 1 300); do kill -0 "$BROKER" 2>/dev/null || break; sleep 0.05; done
    kill -9 "$BROKER" 2>/dev/null
    wait "$BROKER" 2>/dev/null
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

cat >"$WORK/ferry.toml" <<TOML
[broker]
data.dir = "$WORK/data"
listen = "127.0.0.1:0"
auto.create.topics.enable = false
TOML
"$FERRY" serve --config "$WORK/ferry.toml" >"$WORK/serve.log" 2>&1 &
BROKER=$!
for _ in $(seq 1 400); do
  grep -q "serving on 127.0.0.1:" "$WORK/serve.log" 2>/dev/null && break
  kill -0 "$BROKER" 2>/dev/null || break
  sleep 0.05
done
PORT=$(grep -o "serving on 127.0.0.1:[0-9]*" "$WORK/serve.log" | head -1 | cut -d: -f2)
[ -n "$PORT" ] || { cat "$WORK/serve.log"; echo "produce_vs_kcat: the broker did not start" >&2; exit 1; }
BS=127.0.0.1:$PORT
echo "# ferry serve on $BS, data in $WORK/data ($(stat -f -c %T "$WORK")), $(nproc) cores"
echo "# after: $FERRY${BEFORE:+; before: $BEFORE}"

# make_input FILE LINES SIZE: keyed lines of SIZE bytes (newline included), 16 keys.
make_input() {
  /usr/bin/python3 - "$1" "$2" "$3" <<'PY'
import sys
path, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(path, "w") as f:
    for i in range(n):
        head = "sensor-%d:%08d " % (i % 16, i)
        f.write(head + "x" * max(0, size - 1 - len(head)) + "\n")
PY
}

new_topic() {  # new_topic NAME PARTITIONS
  "$FERRY" topics --bootstrap "$BS" --create --topic "$1" --partitions "$2" >/dev/null
}

now_ns() { date +%s%N; }

# run_one WHO TOPIC ACKS LZ4 FILE LINES: prints msg/s, or "fail".
run_one() {
  local who=$1 topic=$2 acks=$3 lz4=$4 file=$5 lines=$6 t0 t1 rc out
  t0=$(now_ns)
  case $who in
    kcat)
      out=$(timeout 300 kcat -P -b "$BS" -t "$topic" -K: -X acks="$acks" -X linger.ms=5 \
              ${lz4:+-z lz4} -l "$file" 2>&1)
      rc=$?
      if [ $rc -eq 0 ] && grep -qi "fail\|error" <<<"$out"; then rc=1; fi ;;
    *)
      local bin=$FERRY
      [ "$who" = before ] && bin=$BEFORE
      out=$(timeout 300 "$bin" produce --bootstrap "$BS" --topic "$topic" --key-separator : \
              --acks "$acks" ${lz4:+--compression lz4} --file "$file" 2>&1)
      rc=$?
      if [ $rc -eq 0 ] && ! grep -q "^$lines records" <<<"$out"; then rc=1; fi ;;
  esac
  t1=$(now_ns)
  if [ $rc -ne 0 ]; then
    echo "produce_vs_kcat: $who on $topic failed: $(head -3 <<<"$out")" >&2
    echo fail
    return
  fi
  awk -v n="$lines" -v ns=$((t1 - t0)) 'BEGIN { printf "%.0f", n / (ns / 1e9) }'
}

# Lines, size, partitions, acks, lz4 ("" or 1), name.
cases=()
n100=$(awk -v s="$SCALE" 'BEGIN { printf "%d", 200000 * s }')
n1k=$(awk -v s="$SCALE" 'BEGIN { printf "%d", 50000 * s }')
for size in 100 1024; do
  for parts in 1 8; do
    for acks in 1 all; do
      n=$n100; label="100 B"
      [ $size = 1024 ] && { n=$n1k; label="1 KiB"; }
      cases+=("$n|$size|$parts|$acks||$label p$parts acks=$acks")
    done
  done
done
cases+=("$n100|100|1|all|1|docs: 100 B p1 acks=all lz4")

producers=(kcat after)
[ -n "$BEFORE" ] && producers=(kcat before after)

printf '%-30s %5s %10s %10s %10s %12s %12s\n' case round kcat_msg/s before after before/kcat after/kcat
declare -A summary
ci=0
for c in "${cases[@]}"; do
  IFS='|' read -r n size parts acks lz4 name <<<"$c"
  ci=$((ci + 1))
  [ -n "$ONLY" ] && [[ $name != *"$ONLY"* ]] && continue
  input=$WORK/in-$size-$n.txt
  [ -f "$input" ] || make_input "$input" "$n" "$size"
  ratios_b=() ratios_a=()
  for r in $(seq 1 "$ROUNDS"); do
    declare -A rate=()
    # Alternate who goes first from round to round.
    order=("${producers[@]}")
    if [ $((r % 2)) = 0 ]; then order=(); for ((i = ${#producers[@]} - 1; i >= 0; i--)); do order+=("${producers[$i]}"); done; fi
    for who in "${order[@]}"; do
      topic=c$ci-r$r-$who
      new_topic "$topic" "$parts" || exit 1
      rate[$who]=$(run_one "$who" "$topic" "$acks" "$lz4" "$input" "$n")
    done
    rb=- ra=-
    if [ -n "$BEFORE" ] && [ "${rate[before]}" != fail ] && [ "${rate[kcat]}" != fail ]; then
      rb=$(awk -v a="${rate[before]}" -v k="${rate[kcat]}" 'BEGIN { printf "%.2f", a / k }')
      ratios_b+=("$rb")
    fi
    if [ "${rate[after]}" != fail ] && [ "${rate[kcat]}" != fail ]; then
      ra=$(awk -v a="${rate[after]}" -v k="${rate[kcat]}" 'BEGIN { printf "%.2f", a / k }')
      ratios_a+=("$ra")
    fi
    printf '%-30s %5s %10s %10s %10s %12s %12s\n' "$name" "$r" "${rate[kcat]}" \
      "${rate[before]:--}" "${rate[after]}" "$rb" "$ra"
    unset rate
  done
  median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)]; else print "-" }'; }
  summary[$name]="$(median "${ratios_b[@]+"${ratios_b[@]}"}") $(median "${ratios_a[@]+"${ratios_a[@]}"}")"
done

echo
printf '%-30s %18s %18s\n' case "median before/kcat" "median after/kcat"
for c in "${cases[@]}"; do
  IFS='|' read -r _ _ _ _ _ name <<<"$c"
  [ -n "${summary[$name]:-}" ] || continue
  read -r b a <<<"${summary[$name]}"
  printf '%-30s %18s %18s\n' "$name" "$b" "$a"
done
