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
SECONDS_PER_TARGET=$((${1:-30} * 2 / 3)) # three targets share the time two had
OUT=${FERRY_FUZZ_DIR:-build/fuzz}
mkdir -p "$OUT"
CXX=${CLANGXX:-clang++}
FLAGS=(-std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
  -D_FILE_OFFSET_BITS=64 -I src -I .)
failed=0

build() {
  local name=$1
  shift
  echo "building $name"
  "$CXX" "${FLAGS[@]}" "$@" -o "$OUT/$name" || {
    echo "FAILED to build $name"
    failed=1
    return 1
  }
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

if build record_batch_fuzz tests/fuzz/record_batch_fuzz.cc src/protocol/*.cc platform/crc32c.cc \
  src/common/common.cc src/common/log.cc -llz4 -lz -lzstd -lsnappy; then
  run record_batch_fuzz 65536
fi
if build request_fuzz tests/fuzz/request_fuzz.cc src/protocol/messages.cc src/protocol/api.cc \
  src/protocol/wire.cc src/protocol/varint.cc src/common/common.cc src/common/log.cc; then
  # Seeds: every key 0..70 and version 0..11 with a zero body.
  seeds="$OUT/request_fuzz_corpus"
  mkdir -p "$seeds"
  for key in 0 1 2 3 8 9 10 11 12 13 14 15 16 18 19 20 22 32 33 37 42 44 47; do
    for v in 0 1 2 3 4 5 6 7 8 9 10 11; do
      printf "\\x00\\x$(printf %02x "$key")\\x00\\x$(printf %02x "$v")" >"$seeds/seed-$key-$v"
      head -c 48 /dev/zero >>"$seeds/seed-$key-$v"
    done
  done
  run request_fuzz 4096
fi
if build broker_request_fuzz tests/fuzz/broker_request_fuzz.cc src/app/node.cc src/broker/*.cc src/broker/*/*.cc src/net/*.cc src/storage/*.cc src/meta/*.cc src/protocol/*.cc src/common/*.cc config/*.cc platform/*.cc -DTOML_HEADER_ONLY=1 -DTOML_EXCEPTIONS=1 -luv -lsqlite3 -llz4 -lz -lzstd -lsnappy -lpthread; then mkdir -p "$OUT/broker_request_fuzz_corpus" && cp tests/fuzz/seeds/broker_request/* "$OUT/broker_request_fuzz_corpus/" && run broker_request_fuzz 65536; fi
exit $failed
