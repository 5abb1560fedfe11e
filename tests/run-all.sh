#!/usr/bin/env bash
# Installs what ferry needs on Debian 12, then builds and runs every test: native (warnings as
# errors), ASan+UBSan, and cross-built for aarch64 and armhf with the tests under qemu-user.
#
#   sudo bash tests/run-all.sh            (as root: bash tests/run-all.sh)
#
# Each leg is configured and built once, then tested: the native leg builds and runs every test
# (unit, crash, the real-client compat suites, the cli and hostile black-box tests, the cluster
# fault harness, docs checks); the sanitizer and ARM legs run the unit and crash tests
# (everything but the labels in NATIVE_ONLY_LABELS) and build only the programs those run (plus
# `ferry` for the ARM packages).
# The ARM legs link statically and run under plain qemu-user, then build and check their .deb
# (the native leg's package is checked by its systemd tests); their cross packages are installed
# in the background while the native leg builds. A table of each leg's times ends the output.
#
# Environment: FERRY_SKIP_ARM=1 skips the ARM legs (FERRY_SKIP_AARCH64=1, FERRY_SKIP_ARMHF=1 one
# of them); FERRY_SKIP_NATIVE=1 the native leg; FERRY_SKIP_ASAN=1 the sanitizer leg;
# FERRY_SKIP_FUZZ=1 the fuzzer smoke run (FERRY_FUZZ_SECONDS per target, default 30);
# FERRY_CTEST_JOBS the tests run in parallel per leg (default: the number of cores).
# An ARM leg whose packages cannot be installed (a foreign package index briefly out of sync)
# is skipped with a loud warning; a build or test failure in any leg that ran fails the run.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
JOBS=$(nproc)
CTEST_JOBS=${FERRY_CTEST_JOBS:-$JOBS}
# Labels of the tests only the native leg runs: they drive `ferry serve` with real clients or
# raw sockets, or check the docs, and say nothing more under the sanitizers or another CPU.
NATIVE_ONLY_LABELS='^(compat|cli|hostile|docs|mirror|systemd|cluster)$'
LOGDIR="$ROOT/build/ci-logs"
mkdir -p "$LOGDIR"

NATIVE_PKGS=(build-essential cmake ninja-build pkg-config ccache libuv1-dev libsqlite3-dev liblz4-dev zlib1g-dev libzstd-dev libsnappy-dev
  libmbedtls-dev libtomlplusplus-dev libcli11-dev libgtest-dev libgmock-dev clang
  # real Kafka clients for the compatibility suite (kafkajs comes from npm)
  kcat python3-confluent-kafka python3-kafka librdkafka-dev golang-go
  # kafka-python reads LZ4 batches (ferry's default topic codec) through python3-lz4
  python3-lz4
  golang-github-shopify-sarama-dev golang-github-segmentio-kafka-go-dev
  # tests/systemd: systemd-analyze for the unit, lintian and file for the package
  systemd lintian file
  # tests/admin: headless Chromium renders the status page (admin_status_page)
  chromium)

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

# Per-leg times for the summary table: TIMES[leg:phase] in seconds (phases install, build,
# tests), RESULTS[leg] a word; LEGS keeps the order the legs ran in.
declare -A TIMES RESULTS
LEGS=()
record() { # record LEG PHASE SECONDS
  [[ " ${LEGS[*]} " == *" $1 "* ]] || LEGS+=("$1")
  TIMES[$1:$2]=$3
}

summary_table() {
  local leg phase row total
  printf '\n%-10s %8s %8s %8s %8s  %s\n' leg install build tests total result
  for leg in "${LEGS[@]}"; do
    row=$(printf '%-10s' "$leg")
    total=0
    for phase in install build tests; do
      if [ -n "${TIMES[$leg:$phase]:-}" ]; then
        row+=$(printf ' %7ss' "${TIMES[$leg:$phase]}")
        total=$((total + ${TIMES[$leg:$phase]}))
      else
        row+=$(printf ' %8s' -)
      fi
    done
    printf '%s %7ss  %s\n' "$row" "$total" "${RESULTS[$leg]:-ok}"
  done
  printf '%-10s %34ss  (wall clock; ARM installs overlap the native leg)\n' total "$SECONDS"
}

# leg_build DIR: builds everything, or with LEG_ONLY_TESTED=1 only the programs the tests that
# CTEST_ARGS select run (tests/leg_targets.py) plus LEG_EXTRA_TARGETS.
LEG_ONLY_TESTED=0
LEG_EXTRA_TARGETS=()
leg_build() {
  local dir=$1 list targets
  if [ "$LEG_ONLY_TESTED" != 1 ]; then
    cmake --build "$dir" -j"$JOBS"
    return
  fi
  list=$(python3 "$ROOT/tests/leg_targets.py" "$dir" "${CTEST_ARGS[@]}") || return 1
  mapfile -t targets <<<"$list"
  targets+=("${LEG_EXTRA_TARGETS[@]}")
  echo "building only what the tests run: ${targets[*]}"
  cmake --build "$dir" -j"$JOBS" --target "${targets[@]}"
}

# run_leg NAME BUILD_DIR [cmake args...]: configure and build once (leg_build), then ctest with
# the arguments in CTEST_ARGS; adds to the counters and records the times.
CTEST_ARGS=()
run_leg() {
  local name=$1 dir=$2
  shift 2
  local start=$SECONDS
  local launcher=()
  command -v ccache >/dev/null &&
    launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  log "$name: configure and build"
  if ! cmake -S "$ROOT" -B "$dir" -G Ninja -DFERRY_WERROR=ON "${launcher[@]}" "$@" ||
    ! leg_build "$dir"; then
    record "$name" build $((SECONDS - start))
    RESULTS[$name]="FAILED (build)"
    BROKEN+=("$name (build)")
    return
  fi
  record "$name" build $((SECONDS - start))
  start=$SECONDS
  log "$name: tests (ctest -j$CTEST_JOBS ${CTEST_ARGS[*]})"
  local out="$dir/ctest.log"
  (cd "$dir" && ctest --output-on-failure --timeout 900 -j"$CTEST_JOBS" "${CTEST_ARGS[@]}") 2>&1 |
    tee "$out"
  record "$name" tests $((SECONDS - start))
  local summary
  summary=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$out" | tail -1)
  if [ -z "$summary" ]; then
    RESULTS[$name]="FAILED (no test summary)"
    BROKEN+=("$name (no test summary)")
    return
  fi
  local total failed
  total=$(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$summary")
  failed=$(sed -E 's/.*, ([0-9]+) tests? failed.*/\1/' <<<"$summary")
  PASSED=$((PASSED + total - failed))
  FAILED=$((FAILED + failed))
  RESULTS[$name]="$((total - failed))/$total passed"
  [ "$failed" = 0 ] || BROKEN+=("$name (tests)")
}

# package_check NAME ARCH: the leg's .deb from its build directory (cpack strips and packs the
# binary already built: seconds; cpack itself rather than the `package` target, which would first
# build everything), its contents and Depends checked and its binary run under qemu-user
# (tests/systemd/package_test.sh). The time is added to the leg's tests phase.
package_check() {
  local name=$1 arch=$2 dir=$ROOT/build/$1 start=$SECONDS
  [ -z "${RESULTS[$name]:-}" ] || [[ "${RESULTS[$name]}" != FAILED* ]] || return 0
  log "$name: package (cpack in build/$name)"
  if (cd "$dir" && cpack --config CPackConfig.cmake) >"$LOGDIR/package-$name.log" 2>&1 &&
    bash "$ROOT/tests/systemd/package_test.sh" "$dir/ferry_$(
      sed -n 's/^project(ferry VERSION \([0-9.]*\).*/\1/p' "$ROOT/CMakeLists.txt")_$arch.deb" \
      "$arch" 2>&1 | tee -a "$LOGDIR/package-$name.log" && [ "${PIPESTATUS[0]}" = 0 ]; then
    PASSED=$((PASSED + 1))
  else
    tail -n 20 "$LOGDIR/package-$name.log"
    FAILED=$((FAILED + 1))
    BROKEN+=("$name (package)")
  fi
  TIMES[$name:tests]=$((${TIMES[$name:tests]:-0} + SECONDS - start))
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

# same_source_native PKG: the installed native packages built from the same source and version
# as PKG (zlib1g -> zlib1g, zlib1g-dev), which must move with it: downgrading zlib1g alone would
# make apt remove zlib1g-dev, under the native leg's build.
same_source_native() {
  local native src ver
  native=$(dpkg --print-architecture)
  read -r src ver < <(dpkg-query -W -f='${source:Package} ${Version}\n' "$1:$native" 2>/dev/null) ||
    return 0
  dpkg-query -W -f='${Package} ${source:Package} ${Version} ${Architecture}\n' |
    awk -v s="$src" -v v="$ver" -v a="$native" '$2 == s && $3 == v && $4 == a {print $1}'
}

# install_arm ARCH: adds the architecture and installs the cross toolchain and -dev packages.
# Multi-Arch: same packages must have one version on both architectures; when the foreign index
# lags the native one (or the machine has a newer native build installed), the packages apt
# names as unmet are aligned on a version both indexes offer (with the native packages of the
# same source, so that none is removed), then the install is retried.
install_arm() {
  local arch=$1 attempt out pkg ver sib
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
      local with=()
      for sib in $(same_source_native "$pkg"); do
        [ "$sib" = "$pkg" ] || with+=("$sib=$ver")
      done
      echo "aligning $pkg ${with[*]} on $ver for $(dpkg --print-architecture) and $arch" >&2
      $SUDO apt-get -y -q install --no-remove --allow-downgrades "$pkg=$ver" "$pkg:$arch=$ver" \
        "${with[@]}" >&2 || true
    done
    sleep $((attempt * 10))
  done
  return 1
}

log "installing native packages"
start=$SECONDS
$SUDO apt-get -q update || true
# --no-upgrade: a package already installed stays at its version (a machine with the ARM legs'
# packages from an earlier run holds Multi-Arch: same libraries at the version both indexes had).
apt_retry install --no-upgrade "${NATIVE_PKGS[@]}" || {
  echo "cannot install the native build dependencies" >&2
  exit 1
}
# tests/admin: promtool (Debian's prometheus) validates /metrics; without its recommended
# node exporter, which would start a daemon.
if ! command -v promtool >/dev/null; then
  apt_retry install --no-install-recommends prometheus || echo "cannot install prometheus" >&2
fi
if ! command -v npm >/dev/null; then
  apt_retry install nodejs npm || echo "cannot install nodejs and npm" >&2
fi

# The ARM legs' cross packages: installed in the background (one apt at a time, after the native
# packages) while the native and sanitizer legs build and test. Each architecture's outcome and
# time land in $LOGDIR/install-ARCH.{log,status}.
ARM_LEGS=()
if [ "${FERRY_SKIP_ARM:-0}" != 1 ]; then
  [ "${FERRY_SKIP_AARCH64:-0}" = 1 ] || ARM_LEGS+=("arm64 aarch64-linux-gnu aarch64")
  [ "${FERRY_SKIP_ARMHF:-0}" = 1 ] || ARM_LEGS+=("armhf arm-linux-gnueabihf armhf")
fi
ARM_INSTALL_PID=
if [ ${#ARM_LEGS[@]} -gt 0 ]; then
  rm -f "$LOGDIR"/install-*.status
  (
    for leg in "${ARM_LEGS[@]}"; do
      read -r arch _ _ <<<"$leg"
      t=$SECONDS
      if install_arm "$arch" >"$LOGDIR/install-$arch.log" 2>&1; then r=ok; else r=failed; fi
      echo "$r $((SECONDS - t))" >"$LOGDIR/install-$arch.status"
    done
  ) &
  ARM_INSTALL_PID=$!
fi

# kafkajs for the compatibility suite (tests/compat/package-lock.json). If it cannot be
# installed, compat_kafkajs fails and says so.
log "installing the compatibility suite's npm packages"
for i in 1 2 3 4; do
  if npm ci --prefix "$ROOT/tests/compat" --no-audit --no-fund; then break; fi
  echo "npm ci failed (attempt $i); retrying" >&2
  sleep $((i * 10))
done
record packages install $((SECONDS - start))

if [ "${FERRY_SKIP_NATIVE:-0}" != 1 ]; then
  CTEST_ARGS=()
  run_leg native "$ROOT/build/native"
fi
# libFuzzer smoke run of the decoders (tests/fuzz): each target for FERRY_FUZZ_SECONDS.
if [ "${FERRY_SKIP_FUZZ:-0}" != 1 ]; then
  log "fuzz: build and run each target for ${FERRY_FUZZ_SECONDS:-30} s"
  start=$SECONDS
  rm -f "$ROOT/build/fuzz/times"
  if FERRY_FUZZ_DIR="$ROOT/build/fuzz" bash "$ROOT/tests/fuzz/run.sh" "${FERRY_FUZZ_SECONDS:-30}"; then
    PASSED=$((PASSED + 6))
    RESULTS[fuzz]="6 targets ok"
  else
    FAILED=$((FAILED + 1))
    BROKEN+=("fuzz")
    RESULTS[fuzz]=FAILED
  fi
  # run.sh writes "build SECONDS" and "run SECONDS" to its times file.
  if [ -f "$ROOT/build/fuzz/times" ]; then
    while read -r phase secs; do
      [ "$phase" = run ] && phase=tests
      record fuzz "$phase" "$secs"
    done <"$ROOT/build/fuzz/times"
  else
    record fuzz build $((SECONDS - start))
  fi
fi
if [ "${FERRY_SKIP_ASAN:-0}" != 1 ]; then
  CTEST_ARGS=(-LE "$NATIVE_ONLY_LABELS")
  # Only the test programs it runs (no benchmarks, no `ferry`: its black-box tests are native).
  LEG_ONLY_TESTED=1 LEG_EXTRA_TARGETS=()
  # -g1: line tables only, enough for the sanitizers' stack traces and a quarter less compile time.
  run_leg asan "$ROOT/build/asan" -DFERRY_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug \
    -DCMAKE_CXX_FLAGS_DEBUG=-g1 -DCMAKE_C_FLAGS_DEBUG=-g1
  LEG_ONLY_TESTED=0
fi

for leg in "${ARM_LEGS[@]}"; do
  read -r arch triplet name <<<"$leg"
  log "$name: waiting for the cross packages (installed in the background)"
  start=$SECONDS
  while [ ! -f "$LOGDIR/install-$arch.status" ] && kill -0 "$ARM_INSTALL_PID" 2>/dev/null; do
    sleep 2
  done
  read -r status secs <"$LOGDIR/install-$arch.status" 2>/dev/null || status=failed secs=0
  echo "$name: cross packages $status after ${secs} s (waited $((SECONDS - start)) s)"
  record "$name" install "$secs"
  if [ "$status" = ok ]; then
    CTEST_ARGS=(-LE "$NATIVE_ONLY_LABELS")
    # Only the test programs it runs, and `ferry` for its package (package_check).
    LEG_ONLY_TESTED=1 LEG_EXTRA_TARGETS=(ferry)
    # MinSizeRel: -Os without debug info (asserts kept): the leg tests, and packs, the binary as
    # it is shipped to gateways (size goal in docs/benchmarks.md, tests/bench/arm_size.sh).
    run_leg "$name" "$ROOT/build/$name" -DCMAKE_TOOLCHAIN_FILE="$ROOT/toolchains/$triplet.cmake" \
      -DCMAKE_BUILD_TYPE=MinSizeRel
    LEG_ONLY_TESTED=0 LEG_EXTRA_TARGETS=()
    package_check "$name" "$arch"
  else
    tail -n 30 "$LOGDIR/install-$arch.log"
    warn_banner "$name leg skipped: its packages could not be installed (foreign index out of sync?)"
    SKIPPED+=("$name")
    RESULTS[$name]=SKIPPED
  fi
done
[ -z "$ARM_INSTALL_PID" ] || wait "$ARM_INSTALL_PID" 2>/dev/null

log "summary"
for s in "${SKIPPED[@]}"; do warn_banner "$s leg did not run"; done
for b in "${BROKEN[@]}"; do echo "FAILED: $b"; done
summary_table
echo "run-all took $SECONDS s"
echo "$PASSED passed, $FAILED failed"
[ ${#BROKEN[@]} -eq 0 ]
