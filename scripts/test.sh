#!/usr/bin/env bash
# Builds voxgrad and runs every test, exactly as CI does (.ci/run calls this):
#   deps -> format check -> Release build with g++ (-Werror) -> ctest
#        -> clang ASan+UBSan build (-Werror) -> ctest
# The Release ctest includes the conformance runner, the example smoke tests
# and the find_package consumer (tests/package); the sanitizer ctest also
# fuzzes the checkpoint loader and the .npy reader for 30 s each (libFuzzer).
# Two compilers, so both must accept the code. ctest's summary is the last
# thing printed.
# JOBS=N sets the build/test parallelism (default: 2).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="${JOBS:-2}"

scripts/install-deps.sh

echo "== format check (clang-format $(clang-format --version | grep -o '[0-9][0-9.]*' | head -1))"
git ls-files -z '*.cpp' '*.hpp' | xargs -0 clang-format --dry-run --Werror

# Build settings live in CMakePresets.json ("release", "asan").
echo "== Release build"
cmake --preset release >/dev/null
cmake --build --preset release -j "$jobs"
echo "== ctest (Release)"
ctest --preset release -j "$jobs"

echo "== ASan+UBSan build"
cmake --preset asan >/dev/null
cmake --build --preset asan -j "$jobs"
echo "== ctest (ASan+UBSan)"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --preset asan -j "$jobs"
