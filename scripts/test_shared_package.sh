#!/usr/bin/env bash
# The shared-library package (BUILD_SHARED_LIBS=ON), which scripts/test.sh
# does not build: configures the "shared" preset (build-shared/, the library
# only), builds libvoxgrad.so, installs it into a temporary prefix, builds the
# consumer project tests/package against it and runs it (the same driver as
# ctest's package_consumer for the static package). It also checks that the
# .so exports voxgrad's public API and none of its kernels, and that the
# consumer loads the .so. The compile flags are the release preset's, so with
# a compiler launcher the objects come from the cache of a Release build:
#   scripts/test_shared_package.sh -DCMAKE_CXX_COMPILER_LAUNCHER=ccache
# Extra arguments go to the configure step. JOBS=N (default 2).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="${JOBS:-2}"
cmake --preset shared "$@" >/dev/null
cmake --build --preset shared -j "$jobs"
cxx=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' build-shared/CMakeCache.txt)
cmake -DBUILD_DIR="$PWD/build-shared" -DSOURCE_DIR="$PWD/tests/package" \
  -DWORK_DIR="$PWD/build-shared/package_test" -DCXX="$cxx" \
  -P tests/package/run.cmake
