#!/usr/bin/env bash
# One entry point for a fresh Debian 12 machine:
#   tools/setup.sh run   install what is missing, build Release, run ringcast on :8080
#   tools/setup.sh test  install what is missing, build Release and ASan+UBSan, run every test
#   tools/setup.sh deps  only install dependencies
# Extra arguments after `run` go to ringcast (e.g. tools/setup.sh run --shards 2).
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

build() {  # build DIR TYPE [cmake args...]
  local dir="$1" type="$2"; shift 2
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE="$type" "$@" >/dev/null
  ninja -C "$dir" -j "$jobs"
}

case "${1:-}" in
  deps)
    install_debian
    install_node
    ;;
  run)
    shift
    install_debian
    build build Release -DRINGCAST_TESTS=OFF -DRINGCAST_BENCH=OFF
    exec ./build/tools/ringcast "$@"
    ;;
  test)
    install_debian
    install_node
    build build Release -DRINGCAST_WERROR=ON
    echo "setup: test suite, Release"
    (cd build && ctest --output-on-failure -j 2 --timeout 300)
    build build-asan Debug -DRINGCAST_WERROR=ON -DRINGCAST_SANITIZE=ON -DRINGCAST_BENCH=OFF
    echo "setup: test suite, ASan+UBSan"
    (cd build-asan && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
      ctest --output-on-failure -j 2 --timeout 300)
    tools/fuzz.sh "${RINGCAST_FUZZ_SECONDS:-60}"
    ;;
  *)
    echo "usage: tools/setup.sh run [ringcast flags...] | test | deps" >&2
    exit 2
    ;;
esac
