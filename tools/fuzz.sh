#!/usr/bin/env bash
# Builds every libFuzzer target (tests/fuzz/*_fuzz.cc) with clang in build-fuzz and runs each
# for SECONDS on a copy of its seed corpus (tests/fuzz/corpus/<name>/; the repo is never
# written). Prints one line per target:
#   fuzz: <target> runs=<N> cov=<edges> ft=<features> crashes=0
# and exits non-zero on any crash, leak, timeout or OOM, naming the reproducer.
#   tools/fuzz.sh 60          CI (tools/setup.sh test)
#   tools/fuzz.sh 600 frame   one target, longer
# Reproduce a failure: build-fuzz/tests/fuzz/<target> <reproducer>
set -euo pipefail

seconds="${1:?usage: tools/fuzz.sh SECONDS [TARGET...]}"
shift
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
dir=build-fuzz

# RelWithDebInfo without -DNDEBUG: optimized, symbolized, and RC_DCHECK stays on. Every ringcast
# option is stated: the CMake cache would otherwise keep whatever an earlier configure set.
CC=clang CXX=clang++ cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DRINGCAST_FUZZ=ON \
  -DRINGCAST_TESTS=OFF -DRINGCAST_BENCH=OFF -DRINGCAST_WERROR=OFF -DRINGCAST_SANITIZE=OFF \
  -DRINGCAST_TSAN=OFF >/dev/null
ninja -C "$dir" -j "$(nproc)" fuzz_targets

targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
  for src in tests/fuzz/*_fuzz.cc; do
    name="$(basename "$src" .cc)"
    targets+=("${name%_fuzz}")
  done
fi

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:symbolize=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
failed=0
n_ok=0
n_bad=0
for t in "${targets[@]}"; do
  exe="$dir/tests/fuzz/${t}_fuzz"
  work="$dir/fuzz-work/$t"
  rm -rf "$work"
  mkdir -p "$work/corpus" "$work/artifacts"
  if [ -d "tests/fuzz/corpus/$t" ]; then cp -r "tests/fuzz/corpus/$t/." "$work/corpus/"; fi
  log="$work/log.txt"
  status=0
  "$exe" "$work/corpus" -max_total_time="$seconds" -print_final_stats=1 -timeout=10 \
    -rss_limit_mb=2048 -artifact_prefix="$work/artifacts/" >"$log" 2>&1 || status=$?
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
  # The last status line ("#N DONE cov: E ft: F ...") carries the coverage reached.
  cov="$(grep -Eo 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)"
  ft="$(grep -Eo 'ft: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)"
  crashes="$(find "$work/artifacts" -type f | wc -l)"
  echo "fuzz: $t runs=${runs:-?} cov=${cov:-?} ft=${ft:-?} crashes=$crashes"
  if [ "$status" -ne 0 ] || [ "$crashes" -ne 0 ]; then
    failed=1
    n_bad=$((n_bad + 1))
    echo "fuzz: $t FAILED (exit $status); log: $log" >&2
    grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$log" | head -5 >&2 || true
    find "$work/artifacts" -type f -printf 'fuzz: reproducer %p\n' >&2
    echo "fuzz: reproduce with: $exe <reproducer>" >&2
  else
    n_ok=$((n_ok + 1))
  fi
done
echo "fuzz: $n_ok passed, $n_bad failed"
exit "$failed"
