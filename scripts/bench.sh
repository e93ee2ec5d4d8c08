#!/usr/bin/env bash
# Measures voxgrad and the anchors (oneDNN, PyTorch) in one sitting and
# regenerates docs/performance.md and the README's summary table (SPEC §3,
# issue 4). From the repository:
#
#   scripts/bench.sh                 # ~15 min on 2 cores
#
# Steps: build voxgrad-bench (Release, default flags: run-time ISA dispatch);
# measure the FMA peak (bench/tools/fma_peak.cpp); run voxgrad-bench at 2
# threads; run the anchor harness (../shared/anchors/perf/run_all.sh, on a
# copy: the shared folder stays untouched); run voxgrad-bench at 2 threads
# again and at 1 thread; time whole training steps beside PyTorch
# (scripts/model_bench.sh); write docs/performance.md with tools/perf_table.py.
#
# The machine may be shared: the script waits (up to WAIT_MAX seconds, default
# 1200) until the CPUs have been at least IDLE_MIN % idle (default 85) over
# two consecutive 5-second samples before it starts, and records the load
# before and after in the results.
# Env: BUILD_DIR (default build-bench), OUT (default $BUILD_DIR/perf),
# ANCHORS (default ../shared/anchors/perf), SKIP_ANCHORS=1 (reuse the anchor
# results already in $OUT/anchors), ROUNDS (2-thread voxgrad rounds, default 2).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD_DIR:-$ROOT/build-bench}
OUT=${OUT:-$BUILD/perf}
ANCHORS=${ANCHORS:-$ROOT/../shared/anchors/perf}
ROUNDS=${ROUNDS:-2}
IDLE_MIN=${IDLE_MIN:-85}
WAIT_MAX=${WAIT_MAX:-1200}
PY=/usr/bin/python3
mkdir -p "$OUT"
stamp() { echo "== [$(date +%H:%M:%S)] $*" >&2; }
load1() { cut -d' ' -f1 /proc/loadavg; }
# Percent of CPU time idle over the next 5 seconds (all CPUs).
idle_pct() {
  local a b
  a=($(head -1 /proc/stat)); sleep 5; b=($(head -1 /proc/stat))
  local tot=0 i
  for i in 1 2 3 4 5 6 7 8; do tot=$((tot + b[i] - a[i])); done
  echo $(( 100 * (b[4] - a[4] + b[5] - a[5]) / (tot > 0 ? tot : 1) ))
}

stamp "build voxgrad-bench ($BUILD)"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DVOXGRAD_BUILD_TESTS=OFF \
  -DVOXGRAD_BUILD_EXAMPLES=OFF -DVOXGRAD_BUILD_TOOLS=OFF >/dev/null
cmake --build "$BUILD" --target voxgrad-bench -j 2 >/dev/null
BENCH=$BUILD/bin/voxgrad-bench
g++ -O2 -march=native -fopenmp "$ROOT/bench/tools/fma_peak.cpp" -o "$BUILD/fma_peak"

waited=0 quiet=0
while [ "$quiet" -lt 2 ]; do
  idle=$(idle_pct)
  if [ "$idle" -ge "$IDLE_MIN" ]; then
    quiet=$((quiet + 1))
    continue
  fi
  quiet=0
  if [ "$waited" -ge "$WAIT_MAX" ]; then
    stamp "CPUs only ${idle}% idle after ${WAIT_MAX}s; measuring anyway (see the load in the report)"
    break
  fi
  stamp "CPUs ${idle}% idle (< ${IDLE_MIN}%): waiting"
  sleep 10
  waited=$((waited + 15))
done
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

stamp "FMA peak"
"$BUILD/fma_peak" >"$OUT/fma_peak.json"

rm -f "$OUT"/voxgrad_t2_r*.jsonl
stamp "voxgrad-bench, 2 threads, round 1"
"$BENCH" --threads 2 --json >"$OUT/voxgrad_t2_r1.jsonl"

if [ "${SKIP_ANCHORS:-0}" != 1 ]; then
  stamp "anchors (oneDNN, PyTorch; about 10 minutes)"
  rm -rf "$OUT/anchors"
  cp -r "$ANCHORS" "$OUT/anchors"
  chmod -R u+w "$OUT/anchors"
  rm -rf "$OUT/anchors/results" "$OUT/anchors/build"
  (cd "$OUT/anchors" && THREADS=2 ./run_all.sh >"$OUT/anchors.log" 2>&1) ||
    stamp "anchor harness failed (see $OUT/anchors.log)"
fi

for r in $(seq 2 "$ROUNDS"); do
  stamp "voxgrad-bench, 2 threads, round $r"
  "$BENCH" --threads 2 --json >"$OUT/voxgrad_t2_r$r.jsonl"
done
stamp "voxgrad-bench, 1 thread"
"$BENCH" --threads 1 --json >"$OUT/voxgrad_t1.jsonl"
stamp "voxgrad-bench table (extra memory)"
"$BENCH" --threads 2 --reps 1 --warmup 1 >"$OUT/voxgrad_table.txt"
stamp "whole training steps and the GEMM (scripts/model_bench.sh)"
BUILD_DIR=$BUILD OUT=$OUT/models "$ROOT/scripts/model_bench.sh" \
  >"$OUT/models.log" 2>&1 || stamp "model bench failed (see $OUT/models.log)"
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

ISA=$(head -1 "$OUT/voxgrad_table.txt" | sed -n 's/.*conv kernels \([a-z0-9]*\).*/\1/p')
CPU=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
DETAIL="family $(lscpu | sed -n 's/^CPU family: *//p'), model $(lscpu | sed -n 's/^Model: *//p' | head -1); $(lscpu | grep -o 'avx512f' | head -1 || true) $(lscpu | grep -o ' avx2 ' | head -1 || true)"
CACHES=$(lscpu | sed -n 's/^\(L[123][di]* cache\): *\(.*\)/\1 \2/p' | paste -sd ';' | sed 's/;/; /g')
# Some VMs' lscpu lists no caches; the kernel's per-CPU view usually has them.
if [ -z "$CACHES" ]; then
  CACHES=$(for c in /sys/devices/system/cpu/cpu0/cache/index*; do
    [ -r "$c/size" ] && echo "L$(cat "$c/level")$(sed 's/Data/d/;s/Instruction/i/;s/Unified//' "$c/type") $(cat "$c/size") per core"
  done | paste -sd ';' | sed 's/;/; /g')
  CACHES=${CACHES:-not reported by this machine}
fi
CORES=$(nproc)
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD)
DIRTY=$(git -C "$ROOT" status --porcelain -- core bench autograd nn | head -1)
[ -n "$DIRTY" ] && COMMIT="$COMMIT (+ local changes)"
TORCH=$($PY -c 'import torch; print(torch.__version__)' 2>/dev/null || echo "?")
$PY - "$OUT/machine.json" <<EOF
import json, sys
json.dump({"cpu": """$CPU""", "cpu_detail": """$DETAIL""", "caches": """$CACHES""",
           "cores": "$CORES", "isa": "$ISA", "commit": "$COMMIT",
           "date": "$(date -u '+%Y-%m-%d %H:%M UTC')", "torch": "$TORCH",
           "onednn": "2.6.3", "load_before": "$LOAD_BEFORE",
           "load_after": "$LOAD_AFTER"}, open(sys.argv[1], "w"), indent=1)
EOF

stamp "docs/performance.md"
$PY "$ROOT/tools/perf_table.py" "$OUT" --readme "$ROOT/README.md" \
  >"$OUT/performance.md"
mv "$OUT/performance.md" "$ROOT/docs/performance.md"
stamp "done: docs/performance.md (results in $OUT)"
