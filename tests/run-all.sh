#!/usr/bin/env bash
# Installs what ferry needs on Debian 12, then builds and runs every test: native (warnings as
# errors), ASan+UBSan, and cross-built for aarch64 and armhf with the tests under qemu-user.
#
#   sudo bash tests/run-all.sh            (as root: bash tests/run-all.sh)
#
# Environment: FERRY_SKIP_ARM=1 skips the ARM legs; FERRY_SKIP_ASAN=1 the sanitizer leg;
# FERRY_SKIP_FUZZ=1 the fuzzer smoke run (FERRY_FUZZ_SECONDS per target, default 30).
# An ARM leg whose packages cannot be installed (a foreign package index briefly out of sync)
# is skipped with a loud warning; a build or test failure in any leg that ran fails the run.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
JOBS=$(nproc)

NATIVE_PKGS=(build-essential cmake ninja-build pkg-config ccache libuv1-dev libsqlite3-dev liblz4-dev zlib1g-dev libzstd-dev libsnappy-dev
  libmbedtls-dev libtomlplusplus-dev libcli11-dev libgtest-dev libgmock-dev clang
  # real Kafka clients for the compatibility suite (kafkajs comes from npm)
  kcat python3-confluent-kafka python3-kafka librdkafka-dev golang-go
  golang-github-shopify-sarama-dev golang-github-segmentio-kafka-go-dev)

log() { printf '\n==== %s ====\n' "$*"; }
warn_banner() {
  printf '\n%s\n#### WARNING: %s\n%s\n\n' "########################################################" \
    "$*" "########################################################"
}

# apt-get with retries: mirrors and foreign-architecture indexes can be briefly inconsistent.
apt_retry() {
  local i
  for i in 1 2 3 4 5; do
    if $SUDO apt-get -y -q "$@"; then return 0; fi
    echo "apt-get $* failed (attempt $i); retrying" >&2
    sleep $((i * 10))
    $SUDO apt-get -q update || true
  done
  return 1
}

# ccache (one of the native packages installed below) makes a rebuild of unchanged sources cheap;
# paths are taken relative to the checkout and the build directory is left out of the hash, so
# another checkout of the same tree shares the cache. A cold cache costs next to nothing.
export CCACHE_BASEDIR="$ROOT" CCACHE_NOHASHDIR=1  # debug info keeps the build dir it came from

PASSED=0
FAILED=0
BROKEN=()   # legs whose build or tests failed
SKIPPED=()  # legs that could not run (packages unavailable)

# run_leg NAME BUILD_DIR [cmake args...]: configure, build, ctest; adds to the counters.
run_leg() {
  local name=$1 dir=$2
  shift 2
  local start=$SECONDS
  local launcher=()
  command -v ccache >/dev/null &&
    launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  log "$name: configure and build"
  if ! cmake -S "$ROOT" -B "$dir" -G Ninja -DFERRY_WERROR=ON "${launcher[@]}" "$@" ||
    ! cmake --build "$dir" -j"$JOBS"; then
    BROKEN+=("$name (build)")
    return
  fi
  log "$name: tests"
  local out="$dir/ctest.log"
  (cd "$dir" && ctest --output-on-failure --timeout 900) 2>&1 | tee "$out"
  local summary
  summary=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$out" | tail -1)
  if [ -z "$summary" ]; then
    BROKEN+=("$name (no test summary)")
    return
  fi
  local total failed
  total=$(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$summary")
  failed=$(sed -E 's/.*, ([0-9]+) tests? failed.*/\1/' <<<"$summary")
  PASSED=$((PASSED + total - failed))
  FAILED=$((FAILED + failed))
  [ "$failed" = 0 ] || BROKEN+=("$name (tests)")
  echo "$name took $((SECONDS - start)) s"
}

# The newest version of package $1 that both the native and the $2 index offer.
common_version() {
  local native
  native=$(dpkg --print-architecture)
  comm -12 \
    <(apt-cache madison "$1" | awk -v A="$native Packages" 'index($0, A) {print $3}' | sort -u) \
    <(apt-cache madison "$1:$2" | awk -v A="$2 Packages" 'index($0, A) {print $3}' | sort -u) |
    sort -V | tail -1
}

# install_arm ARCH: adds the architecture and installs the cross toolchain and -dev packages.
# Multi-Arch: same packages must have one version on both architectures; when the foreign index
# lags the native one (or the machine has a newer native build installed), the packages apt
# names as unmet are aligned on a version both indexes offer, then the install is retried.
install_arm() {
  local arch=$1 attempt out pkg ver
  local pkgs=("crossbuild-essential-$arch" qemu-user "libuv1-dev:$arch" "libsqlite3-dev:$arch"
    "liblz4-dev:$arch" "zlib1g-dev:$arch" "libzstd-dev:$arch" "libsnappy-dev:$arch" "libmbedtls-dev:$arch" "libgtest-dev:$arch")
  $SUDO dpkg --add-architecture "$arch"
  for attempt in 1 2 3 4; do
    $SUDO apt-get -q update || true
    if out=$($SUDO apt-get -y -q install "${pkgs[@]}" 2>&1); then return 0; fi
    echo "$out" | tail -n 20 >&2
    for pkg in $(grep -oE "Depends: [a-z0-9.+-]+:$arch" <<<"$out" | sed -E "s/Depends: //; s/:$arch//" |
      sort -u); do
      ver=$(common_version "$pkg" "$arch")
      [ -n "$ver" ] || continue
      echo "aligning $pkg on $ver for $(dpkg --print-architecture) and $arch" >&2
      $SUDO apt-get -y -q install --allow-downgrades "$pkg=$ver" "$pkg:$arch=$ver" >&2 || true
    done
    sleep $((attempt * 10))
  done
  return 1
}

log "installing native packages"
$SUDO apt-get -q update || true
apt_retry install "${NATIVE_PKGS[@]}" || {
  echo "cannot install the native build dependencies" >&2
  exit 1
}

# kafkajs for the compatibility suite (tests/compat/package-lock.json). If it cannot be
# installed, compat_kafkajs fails and says so.
log "installing the compatibility suite's npm packages"
if ! command -v npm >/dev/null; then
  apt_retry install nodejs npm || echo "cannot install nodejs and npm" >&2
fi
for i in 1 2 3 4; do
  if npm ci --prefix "$ROOT/tests/compat" --no-audit --no-fund; then break; fi
  echo "npm ci failed (attempt $i); retrying" >&2
  sleep $((i * 10))
done

run_leg native "$ROOT/build/native"
# libFuzzer smoke run of the decoders (tests/fuzz): each target for FERRY_FUZZ_SECONDS.
if [ "${FERRY_SKIP_FUZZ:-0}" != 1 ]; then
  log "fuzz: build and run each target for ${FERRY_FUZZ_SECONDS:-30} s"
  if bash "$ROOT/tests/fuzz/run.sh" "${FERRY_FUZZ_SECONDS:-30}"; then
    PASSED=$((PASSED + 2))
  else
    FAILED=$((FAILED + 1))
    BROKEN+=("fuzz")
  fi
fi
if [ "${FERRY_SKIP_ASAN:-0}" != 1 ]; then
  run_leg asan "$ROOT/build/asan" -DFERRY_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
fi

if [ "${FERRY_SKIP_ARM:-0}" != 1 ]; then
  for leg in "arm64 aarch64-linux-gnu aarch64" "armhf arm-linux-gnueabihf armhf"; do
    read -r arch triplet name <<<"$leg"
    log "$name: installing cross packages"
    if install_arm "$arch"; then
      run_leg "$name" "$ROOT/build/$name" -DCMAKE_TOOLCHAIN_FILE="$ROOT/toolchains/$triplet.cmake"
    else
      warn_banner "$name leg skipped: its packages could not be installed (foreign index out of sync?)"
      SKIPPED+=("$name")
    fi
  done
fi

log "summary"
for s in "${SKIPPED[@]}"; do warn_banner "$s leg did not run"; done
for b in "${BROKEN[@]}"; do echo "FAILED: $b"; done
echo "run-all took $SECONDS s"
echo "$PASSED passed, $FAILED failed"
[ ${#BROKEN[@]} -eq 0 ]
