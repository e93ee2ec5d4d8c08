#!/usr/bin/env bash
# Fuzzes one of voxgrad's readers of untrusted files with libFuzzer for a
# bounded time, starting from a seed corpus of valid files:
#   checkpoint  the checkpoint loader (voxgrad::load, JSON and CBOR paths)
#   npy         the .npy reader (load_npy, from memory and from a file)
# Builds tests/fuzz with clang++, ASan and UBSan in its own build folder.
# Exits non-zero if the fuzzer finds a crash (the input is kept in
# <build>/<target>/artifacts/).
#   scripts/fuzz.sh [checkpoint|npy] [seconds]     defaults: checkpoint, 30
#   scripts/fuzz.sh [seconds]                      (the checkpoint loader)
# Environment: FUZZ_BUILD_DIR (default build-fuzz), JOBS (default 2),
# FUZZER (an already built <target>_fuzz: skip the build; ctest uses this),
# FUZZ_FORK (run libFuzzer with -fork=N, e.g. for long runs on N cores).
# Debian packages: clang (clang++ 14), libclang-rt-14-dev (libFuzzer and the
# sanitizer runtimes), plus the library's own build dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."
target=checkpoint
if [ $# -gt 0 ] && ! [[ "$1" =~ ^[0-9]+$ ]]; then
  target="$1"
  shift
fi
case "$target" in
  checkpoint) max_len=16384 ;;
  npy) max_len=4096 ;;
  *) echo "fuzz.sh: unknown target '$target' (checkpoint or npy)" >&2; exit 2 ;;
esac
seconds="${1:-30}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ]; then
  echo "fuzz.sh: seconds must be a whole number >= 1, got '$seconds'" >&2
  exit 2
fi
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
  cmake --build "$build" -j "$jobs" --target "${target}_fuzz"
  fuzzer="$build/bin/${target}_fuzz"
fi
work="$build/$target"
seeds="$work/corpus-seeds"
corpus="$work/corpus"
artifacts="$work/artifacts"
rm -rf "$seeds"
mkdir -p "$corpus" "$artifacts"
VOXGRAD_FUZZ_WRITE_SEEDS="$seeds" "$fuzzer"

echo "== fuzzing $target for ${seconds}s"
# -rss_limit_mb / -malloc_limit_mb turn a huge allocation into a finding.
log="$work/fuzz.log"
fork_args=()
if [ -n "${FUZZ_FORK:-}" ]; then
  fork_args=(-fork="$FUZZ_FORK" -ignore_crashes=0)
fi
set +e
ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=0 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
"$fuzzer" "$corpus" "$seeds" "${fork_args[@]}" \
  -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
  -malloc_limit_mb=512 -max_len="$max_len" -dict="tests/fuzz/$target.dict" \
  -artifact_prefix="$artifacts/" -print_final_stats=1 >"$log" 2>&1
status=$?
set -e
# The progress lines are many; keep the start, the findings and the stats.
grep -v -E '^#[0-9]+[[:space:]]+(NEW|REDUCE|pulse)' "$log" | tail -n 60
if [ "$status" -ne 0 ]; then
  echo "fuzz: FAILED (exit $status); reproduce with: $fuzzer $artifacts/<file>"
  exit "$status"
fi
execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | grep -o '[0-9]*$' || true)
echo "fuzz: $target: no crash in ${seconds}s (${execs:-see $log} executions)"
