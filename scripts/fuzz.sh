#!/usr/bin/env bash
# Fuzzes the checkpoint loader (voxgrad::load, JSON and CBOR paths) with
# libFuzzer for a bounded time, starting from a seed corpus of valid
# checkpoints. Builds tests/fuzz with clang++, ASan and UBSan in its own
# build folder. Exits non-zero if the fuzzer finds a crash (the input is kept
# in <build>/artifacts/).
#   scripts/fuzz.sh [seconds]          default 30
# Environment: FUZZ_BUILD_DIR (default build-fuzz), JOBS (default 2),
# FUZZER (an already built checkpoint_fuzz: skip the build; ctest uses this).
# Debian packages: clang (clang++ 14), libclang-rt-14-dev (libFuzzer and the
# sanitizer runtimes), plus the library's own build dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-30}"
build="${FUZZ_BUILD_DIR:-build-fuzz}"
jobs="${JOBS:-2}"

if [ -n "${FUZZER:-}" ]; then
  # An already built target (the ctest test of the clang ASan build).
  fuzzer="$FUZZER"
  mkdir -p "$build"
else
  echo "== fuzz build (clang++, ASan+UBSan, libFuzzer) in $build"
  cmake -S tests/fuzz -B "$build" -DCMAKE_CXX_COMPILER=clang++ \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVOXGRAD_SANITIZE=address,undefined >/dev/null
  cmake --build "$build" -j "$jobs" --target checkpoint_fuzz
  fuzzer="$build/bin/checkpoint_fuzz"
fi
seeds="$build/corpus-seeds"
corpus="$build/corpus"
artifacts="$build/artifacts"
rm -rf "$seeds"
mkdir -p "$corpus" "$artifacts"
VOXGRAD_FUZZ_WRITE_SEEDS="$seeds" "$fuzzer"

echo "== fuzzing checkpoint loading for ${seconds}s"
# -rss_limit_mb / -malloc_limit_mb turn a huge allocation into a finding.
log="$build/fuzz.log"
set +e
ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=0 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
"$fuzzer" "$corpus" "$seeds" \
  -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
  -malloc_limit_mb=512 -max_len=16384 -dict=tests/fuzz/checkpoint.dict \
  -artifact_prefix="$artifacts/" -print_final_stats=1 >"$log" 2>&1
status=$?
set -e
# The progress lines are many; keep the start, the findings and the stats.
grep -v -E '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse)' "$log" | tail -n 60
if [ "$status" -ne 0 ]; then
  echo "fuzz: FAILED (exit $status); reproduce with: $fuzzer $artifacts/<file>"
  exit "$status"
fi
echo "fuzz: no crash in ${seconds}s ($(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | grep -o '[0-9]*$') executions)"
