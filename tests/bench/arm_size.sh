#!/usr/bin/env bash
# Size of the shipped ARM binaries: the stripped static `ferry` for aarch64 and armhf, built as
# the ARM CI legs build it (toolchains/, FERRY_STATIC, MinSizeRel: -Os, per-function sections,
# --gc-sections), against the goal of < 4 MB (4,194,304 bytes) each, and where the bytes go per
# library (from the linker map; tests/bench/size_by_library.py).
#
#   bash tests/bench/arm_size.sh [aarch64|armhf ...]     (default: both)
#
# Needs the cross packages of toolchains/README.md. Builds only the `ferry` target, in
# build/size-<arch> (ccache shares the objects with the CI legs' build/aarch64, build/armhf).
# Extra cmake arguments for an experiment: FERRY_SIZE_CMAKE_ARGS="-DCMAKE_BUILD_TYPE=Release".
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
GOAL=4194304
ARCHES=("$@")
[ ${#ARCHES[@]} -gt 0 ] || ARCHES=(aarch64 armhf)
launcher=()
command -v ccache >/dev/null &&
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
status=0
for arch in "${ARCHES[@]}"; do
  case $arch in
    aarch64) triplet=aarch64-linux-gnu ;;
    armhf) triplet=arm-linux-gnueabihf ;;
    *) echo "unknown architecture $arch (aarch64 or armhf)" >&2; exit 2 ;;
  esac
  dir=$ROOT/build/size-$arch
  mkdir -p "$dir"
  # shellcheck disable=SC2086 # FERRY_SIZE_CMAKE_ARGS is a list of words
  cmake -S "$ROOT" -B "$dir" -G Ninja -DFERRY_WERROR=ON "${launcher[@]}" \
    -DCMAKE_TOOLCHAIN_FILE="$ROOT/toolchains/$triplet.cmake" -DCMAKE_BUILD_TYPE=MinSizeRel \
    -DFERRY_BUILD_TESTS=OFF -DCMAKE_EXE_LINKER_FLAGS="-Wl,-Map=$dir/ferry.map" \
    ${FERRY_SIZE_CMAKE_ARGS:-} >"$dir/configure.log" 2>&1 ||
    { cat "$dir/configure.log"; exit 1; }
  nice -n 10 cmake --build "$dir" -j"$(nproc)" --target ferry >"$dir/build.log" 2>&1 ||
    { tail -n 30 "$dir/build.log"; exit 1; }
  "$triplet-strip" -o "$dir/ferry.stripped" "$dir/src/app/ferry"
  bytes=$(stat -c %s "$dir/ferry.stripped")
  if [ "$bytes" -lt "$GOAL" ]; then verdict="< 4 MB: met"; else verdict="< 4 MB: NOT met"; status=1; fi
  printf '\n%s: stripped static ferry %s bytes (%s MiB), %s\n' "$arch" \
    "$(sed ':a;s/\B[0-9]\{3\}\>/,&/;ta' <<<"$bytes")" "$(awk -v b="$bytes" 'BEGIN { printf "%.2f", b / 1048576 }')" \
    "$verdict"
  python3 "$ROOT/tests/bench/size_by_library.py" "$dir/ferry.map"
done
exit $status
