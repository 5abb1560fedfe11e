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
SECONDS_PER_TARGET=$((${1:-30} / 2)) # four targets share the time two had
OUT=${FERRY_FUZZ_DIR:-build/fuzz}
mkdir -p "$OUT"
CXX=${CLANGXX:-clang++}
FLAGS=(-std=c++20 -gline-tables-only -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
  -D_FILE_OFFSET_BITS=64 -DTOML_HEADER_ONLY=1 -DTOML_EXCEPTIONS=1 -I src -I .)
LINK_FLAGS=(-fsanitize=fuzzer,address,undefined)
failed=0

# Each source is compiled once into $OUT/obj (in parallel, through ccache when installed) and
# shared by every target that links it; a rebuild recompiles only what changed.
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

# build NAME SOURCES... [-lLIB...]: compiles the sources with coverage instrumentation
# (-fsanitize=fuzzer-no-link) and links them with libFuzzer's main.
build() {
  local name=$1 arg srcs=() libs=() objs=()
  shift
  for arg in "$@"; do
    case $arg in
      -l*) libs+=("$arg") ;;
      *) srcs+=("$arg") ;;
    esac
  done
  echo "building $name"
  if ! compile_all "${srcs[@]}"; then
    echo "FAILED to build $name"
    failed=1
    return 1
  fi
  for arg in "${srcs[@]}"; do objs+=("$OUT/obj/$(echo "$arg" | tr / _).o"); done
  "$CXX" "${LINK_FLAGS[@]}" "${objs[@]}" "${libs[@]}" -o "$OUT/$name" || {
    echo "FAILED to link $name"
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

RECORD_BATCH_SRCS=(tests/fuzz/record_batch_fuzz.cc src/protocol/*.cc platform/crc32c.cc
  src/common/common.cc src/common/log.cc -llz4 -lz -lzstd -lsnappy -lmbedcrypto)
REQUEST_SRCS=(tests/fuzz/request_fuzz.cc src/protocol/messages.cc src/protocol/api.cc
  src/protocol/wire.cc src/protocol/varint.cc src/common/common.cc src/common/log.cc)
BROKER_REQUEST_SRCS=(tests/fuzz/broker_request_fuzz.cc src/app/node.cc src/broker/*.cc
  src/broker/*/*.cc mirror/*.cc src/client/*.cc src/net/*.cc src/tls/*.cc src/storage/*.cc src/meta/*.cc src/protocol/*.cc
  src/common/*.cc config/*.cc platform/*.cc -luv -lsqlite3 -llz4 -lz -lzstd -lsnappy -lmbedtls
  -lmbedx509 -lmbedcrypto -lpthread)
TLS_HANDSHAKE_SRCS=(tests/fuzz/tls_handshake_fuzz.cc src/tls/*.cc src/common/common.cc
  src/common/log.cc -lmbedtls -lmbedx509 -lmbedcrypto)

# Build every target first (their sources compiled together, in parallel), then run them; the
# two phases' times go to $OUT/times for tests/run-all.sh's summary.
start=$SECONDS
all_srcs=()
for arg in "${RECORD_BATCH_SRCS[@]}" "${REQUEST_SRCS[@]}" "${BROKER_REQUEST_SRCS[@]}" \
  "${TLS_HANDSHAKE_SRCS[@]}"; do
  [[ $arg == -l* ]] || all_srcs+=("$arg")
done
compile_all "${all_srcs[@]}" || echo "some fuzz sources failed to compile"
built=()
build record_batch_fuzz "${RECORD_BATCH_SRCS[@]}" && built+=(record_batch_fuzz)
build request_fuzz "${REQUEST_SRCS[@]}" && built+=(request_fuzz)
build broker_request_fuzz "${BROKER_REQUEST_SRCS[@]}" && built+=(broker_request_fuzz)
build tls_handshake_fuzz "${TLS_HANDSHAKE_SRCS[@]}" && built+=(tls_handshake_fuzz)
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
