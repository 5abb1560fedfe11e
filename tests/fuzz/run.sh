#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs each briefly (CI smoke run).
#
#   bash tests/fuzz/run.sh [SECONDS_PER_TARGET]      (default 30)
#
# Seeds: for request_fuzz every described (api key, version) with an empty body of zeros; for
# record_batch_fuzz a few batches taken from the unit tests' builder are not needed, the target
# makes framing consistent itself. Exit status: 0 when every target ran clean, 1 otherwise.
set -uo pipefail
cd "$(dirname "$0")/../.."
SECONDS_PER_TARGET=$((${1:-30} * 2 / 6)) # six targets share the time two had
OUT=${FERRY_FUZZ_DIR:-build/fuzz}
mkdir -p "$OUT"
CXX=${CLANGXX:-clang++}
FLAGS=(-std=c++20 -gline-tables-only -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
  -D_FILE_OFFSET_BITS=64 -DTOML_HEADER_ONLY=1 -DTOML_EXCEPTIONS=1 -I src -I .)
LINK_FLAGS=(-fsanitize=fuzzer,address,undefined)
failed=0

# Each source is compiled once into $OUT/obj (in parallel, through ccache when installed); the
# library sources go into one archive every target links. A rebuild recompiles what changed.
JOBS=${FERRY_FUZZ_JOBS:-$(nproc)}
LAUNCHER=()
command -v ccache >/dev/null && LAUNCHER=(ccache)
declare -A COMPILED # sources compiled in this run
compile_all() {
  mkdir -p "$OUT/obj"
  local src obj running=0 rc=0
  for src in $(printf '%s\n' "$@" | sort -u); do
    obj="$OUT/obj/$(echo "$src" | tr / _).o"
    [ -z "${COMPILED[$src]:-}" ] || continue
    COMPILED[$src]=1
    "${LAUNCHER[@]}" "$CXX" "${FLAGS[@]}" -c "$src" -o "$obj" &
    running=$((running + 1))
    if [ "$running" -ge "$JOBS" ]; then
      wait -n || rc=1
      running=$((running - 1))
    fi
  done
  while [ "$running" -gt 0 ]; do
    wait -n || rc=1
    running=$((running - 1))
  done
  return $rc
}

run() {
  local name=$1 max_len=$2
  local corpus="$OUT/${name}_corpus"
  mkdir -p "$corpus"
  echo "running $name for ${SECONDS_PER_TARGET}s"
  if (cd "$OUT" && "./$name" -max_total_time="$SECONDS_PER_TARGET" -max_len="$max_len" \
    -rss_limit_mb=2048 -print_final_stats=1 "${name}_corpus" 2>"$name.log"); then
    grep -E "stat::number_of_executed_units|cov:" "$OUT/$name.log" | tail -2
    echo "$name: ok"
  else
    tail -40 "$OUT/$name.log"
    echo "$name: FAILED (reproducer in $OUT)"
    failed=1
  fi
}

# Every library source goes into one archive (src/app only for app::Node, which the broker
# fuzzer starts); each target links its own file against it, and the linker takes only the
# objects the target needs, so a new source file or a dependency between libraries needs no
# change here.
mapfile -t LIB_SRCS < <(ls src/*/*.cc src/*/*/*.cc mirror/*.cc config/*.cc platform/*.cc |
  grep -v '^src/app/')
LIB_SRCS+=(src/app/node.cc)
LIBS=(-luv -lsqlite3 -llz4 -lz -lzstd -lsnappy -lmbedtls -lmbedx509 -lmbedcrypto -lpthread)
TARGETS=(record_batch_fuzz request_fuzz broker_request_fuzz tls_handshake_fuzz http_request_fuzz
  raft_codec_fuzz)

# Build every target first (the sources compiled in parallel), then run them; the two phases'
# times go to $OUT/times for tests/run-all.sh's summary.
start=$SECONDS
fuzz_srcs=()
for name in "${TARGETS[@]}"; do fuzz_srcs+=("tests/fuzz/$name.cc"); done
built=()
if compile_all "${LIB_SRCS[@]}" "${fuzz_srcs[@]}"; then
  lib_objs=()
  for src in "${LIB_SRCS[@]}"; do lib_objs+=("$OUT/obj/$(echo "$src" | tr / _).o"); done
  rm -f "$OUT/libferry_fuzz.a"
  ar rcs "$OUT/libferry_fuzz.a" "${lib_objs[@]}"
  for name in "${TARGETS[@]}"; do
    echo "building $name"
    if "$CXX" "${LINK_FLAGS[@]}" "$OUT/obj/tests_fuzz_$name.cc.o" "$OUT/libferry_fuzz.a" \
      "${LIBS[@]}" -o "$OUT/$name"; then
      built+=("$name")
    else
      echo "FAILED to link $name"
      failed=1
    fi
  done
else
  echo "FAILED: some fuzz sources did not compile"
  failed=1
fi
echo "build $((SECONDS - start))" >"$OUT/times"

start=$SECONDS
for name in "${built[@]}"; do
  case $name in
    record_batch_fuzz) run record_batch_fuzz 65536 ;;
    request_fuzz)
      # Seeds: every described key with versions 0..11 and a zero body.
      seeds="$OUT/request_fuzz_corpus"
      mkdir -p "$seeds"
      for key in 0 1 2 3 8 9 10 11 12 13 14 15 16 18 19 20 22 32 33 37 42 44 47; do
        for v in 0 1 2 3 4 5 6 7 8 9 10 11; do
          printf "\\x00\\x$(printf %02x "$key")\\x00\\x$(printf %02x "$v")" >"$seeds/seed-$key-$v"
          head -c 48 /dev/zero >>"$seeds/seed-$key-$v"
        done
      done
      run request_fuzz 4096
      ;;
    broker_request_fuzz)
      mkdir -p "$OUT/broker_request_fuzz_corpus"
      cp tests/fuzz/seeds/broker_request/* "$OUT/broker_request_fuzz_corpus/"
      run broker_request_fuzz 65536
      ;;
    http_request_fuzz) run http_request_fuzz 2048 ;;
    raft_codec_fuzz)
      # Seeds: an empty vote frame, fetch request and fetch response (version 1, no entries).
      seeds="$OUT/raft_codec_fuzz_corpus"
      mkdir -p "$seeds"
      printf '\x00\x01\x00\x00\x00\x00' >"$seeds/empty-list"
      printf '\x00\x01\x00\x00\x00\x03\x00\x00\x00\xc8\x00\x00\x00\x00' >"$seeds/empty-fetch"
      run raft_codec_fuzz 4096
      ;;
    tls_handshake_fuzz)
      # Seeds: real ClientHellos (TLS 1.2 and 1.3 offers) from the openssl command line.
      mkdir -p "$OUT/tls_handshake_fuzz_corpus"
      cp tests/fuzz/seeds/tls_handshake/* "$OUT/tls_handshake_fuzz_corpus/" 2>/dev/null
      run tls_handshake_fuzz 16384
      ;;
  esac
done
echo "run $((SECONDS - start))" >>"$OUT/times"
exit $failed
