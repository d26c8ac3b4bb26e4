#!/usr/bin/env bash
# One entry point for a fresh Debian 12 machine:
#   tools/setup.sh run   install what is missing, build Release, run ringcast on :8080
#   tools/setup.sh test  install what is missing, then: Release build (benchmarks too) + every
#                        test, ASan+UBSan build + every test, the libFuzzer targets
#                        (RINGCAST_FUZZ_SECONDS each, default 60)
#   tools/setup.sh deps  only install dependencies
# Extra arguments after `run` go to ringcast (e.g. tools/setup.sh run --shards 2).
# Each stage prints "setup: <stage> took Ns".
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
jobs="$(nproc)"

debian_packages=(
  build-essential g++ clang cmake ninja-build pkg-config
  liburing-dev libwslay-dev libsimdjson-dev libmimalloc-dev libssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev libtomlplusplus-dev
)

sudo_cmd() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

install_debian() {
  local missing=()
  for p in "${debian_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  # Node.js may come from elsewhere with its own npm: only missing commands count.
  command -v node >/dev/null 2>&1 || missing+=(nodejs)
  command -v npm >/dev/null 2>&1 || missing+=(npm)
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "setup: installing Debian packages: ${missing[*]}"
    sudo_cmd apt-get update -qq
    sudo_cmd env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

# npm packages for the interop tests live in a git-ignored folder.
install_node() {
  if [ ! -f .deps/node/node_modules/ws/package.json ]; then
    echo "setup: installing npm package ws into .deps/node"
    mkdir -p .deps/node
    (cd .deps/node && npm install --no-audit --no-fund --silent ws@8 >/dev/null)
  fi
}

# build DIR TYPE [OPTION...]: configures DIR with every ringcast option stated, ON for each
# OPTION named (TESTS BENCH WERROR SANITIZE TSAN FUZZ) and OFF for the rest, then builds it.
# A CMake cache keeps every -D of earlier configures, so an option left unstated would be
# whatever the folder was last configured with: `run` (tests off) followed by `test` once
# built no test at all and ctest passed on "No tests were found".
build() {
  local dir="$1" type="$2"; shift 2
  local -A on=([TESTS]=OFF [BENCH]=OFF [WERROR]=OFF [SANITIZE]=OFF [TSAN]=OFF [FUZZ]=OFF)
  local o
  for o in "$@"; do
    [ -n "${on[$o]:-}" ] || { echo "setup: unknown build option $o" >&2; exit 2; }
    on[$o]=ON
  done
  local args=(-DCMAKE_BUILD_TYPE="$type")
  for o in TESTS BENCH WERROR SANITIZE TSAN FUZZ; do args+=("-DRINGCAST_$o=${on[$o]}"); done
  cmake -S . -B "$dir" -G Ninja "${args[@]}" >/dev/null
  ninja -C "$dir" -j "$jobs"
}

# ctest in DIR; --no-tests=error: a build that registered no test fails instead of passing.
run_ctest() {
  local dir="$1"; shift
  (cd "$dir" && ctest --no-tests=error --output-on-failure -j 2 --timeout 300 "$@")
}

stage_start=0
stage() { stage_name="$1"; stage_start="$SECONDS"; echo "setup: === $1"; }
stage_done() { echo "setup: $stage_name took $((SECONDS - stage_start))s"; }

case "${1:-}" in
  deps)
    install_debian
    install_node
    ;;
  run)
    shift
    install_debian
    build build Release
    exec ./build/tools/ringcast "$@"
    ;;
  test)
    install_debian
    install_node
    total_start="$SECONDS"
    stage "Release build (tests, benchmarks)"
    build build Release TESTS BENCH WERROR
    stage_done
    stage "test suite, Release"
    run_ctest build
    stage_done
    stage "ASan+UBSan build"
    build build-asan Debug TESTS WERROR SANITIZE
    stage_done
    stage "test suite, ASan+UBSan"
    ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 run_ctest build-asan
    stage_done
    stage "fuzzers"
    tools/fuzz.sh "${RINGCAST_FUZZ_SECONDS:-60}"
    stage_done
    echo "setup: test took $((SECONDS - total_start))s"
    ;;
  *)
    echo "usage: tools/setup.sh run [ringcast flags...] | test | deps" >&2
    exit 2
    ;;
esac
