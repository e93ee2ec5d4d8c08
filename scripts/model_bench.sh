#!/usr/bin/env bash
# Whole training steps and the GEMM, voxgrad beside PyTorch 1.13, in one
# sitting (issue 12). From the repository:
#
#   scripts/model_bench.sh            # ~3 minutes on 2 cores
#
# Builds voxgrad-bench and voxgrad-gemm-bench (Release, run-time ISA
# dispatch), unpacks Debian's OpenBLAS into $BUILD/openblas with
# `apt-get download` + `dpkg -x` (nothing is installed; the anchors' harness
# does the same), then runs, alternating voxgrad and PyTorch per model:
#   voxgrad-bench --model vae|wgan|unet       the examples' steps
#   bench/torch_models.py --model vae|wgan|unet PyTorch, Debian's reference BLAS
#   ... with LD_LIBRARY_PATH at OpenBLAS      PyTorch + OpenBLAS
#   voxgrad-gemm-bench --blas OpenBLAS        512^3 and the VAE's Linear shapes
# and prints the JSON lines (also kept in $OUT/*.jsonl).
# Env: BUILD_DIR (default build-bench), OUT (default $BUILD_DIR/models),
# THREADS (default 2), REPS (default 11), PROFILE=1 (also the self time per
# op class under both profilers: bench/op_classes.py, $OUT/op_classes_*.md).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD_DIR:-$ROOT/build-bench}
OUT=${OUT:-$BUILD/models}
THREADS=${THREADS:-2}
REPS=${REPS:-11}
PY=/usr/bin/python3
mkdir -p "$OUT"
stamp() { echo "== [$(date +%H:%M:%S)] $*" >&2; }

stamp "build voxgrad-bench and voxgrad-gemm-bench ($BUILD)"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DVOXGRAD_BUILD_TESTS=OFF \
  -DVOXGRAD_BUILD_EXAMPLES=OFF -DVOXGRAD_BUILD_TOOLS=OFF >/dev/null
cmake --build "$BUILD" --target voxgrad-bench voxgrad-gemm-bench -j 2 >/dev/null

OB=$BUILD/openblas/usr/lib/x86_64-linux-gnu/openblas-openmp
if [ ! -e "$OB/libblas.so.3" ]; then
  stamp "fetching libopenblas0-openmp (apt-get download, unpacked into $BUILD/openblas)"
  (cd "$BUILD" && apt-get -qq download libopenblas0-openmp >/dev/null 2>&1 &&
    dpkg -x libopenblas0-openmp_*.deb openblas) ||
    stamp "could not get OpenBLAS: the OpenBLAS rows will be missing"
fi

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for m in vae wgan unet; do
  stamp "model $m: voxgrad"
  "$BUILD/bin/voxgrad-bench" --model "$m" --threads "$THREADS" --reps "$REPS" \
    --json | tee "$OUT/voxgrad_$m.jsonl"
  stamp "model $m: PyTorch (reference BLAS)"
  $PY "$ROOT/bench/torch_models.py" --model "$m" --threads "$THREADS" \
    --reps "$REPS" | tee "$OUT/torch_$m.jsonl"
  if [ -e "$OB/libblas.so.3" ]; then
    stamp "model $m: PyTorch + OpenBLAS"
    LD_LIBRARY_PATH=$OB $PY "$ROOT/bench/torch_models.py" --model "$m" \
      --threads "$THREADS" --reps "$REPS" | tee "$OUT/torch_openblas_$m.jsonl"
  fi
done
if [ "${PROFILE:-0}" = 1 ]; then
  # Self time per op class (bench/op_classes.py), each model under both
  # profilers, PyTorch with OpenBLAS when it is here.
  for m in vae wgan unet; do
    stamp "model $m: op classes (profilers)"
    "$BUILD/bin/voxgrad-bench" --model "$m" --threads "$THREADS" \
      --reps "$REPS" --profile >"$OUT/profile_voxgrad_$m.txt"
    LD_LIBRARY_PATH=$([ -e "$OB/libblas.so.3" ] && echo "$OB") \
      $PY "$ROOT/bench/torch_models.py" --model "$m" --threads "$THREADS" \
      --reps "$REPS" --profile >"$OUT/profile_torch_$m.txt"
    $PY "$ROOT/bench/op_classes.py" --voxgrad "$OUT/profile_voxgrad_$m.txt" \
      --torch "$OUT/profile_torch_$m.txt" --steps "$REPS" |
      tee "$OUT/op_classes_$m.md"
  done
fi
if [ -e "$OB/libblas.so.3" ]; then
  stamp "GEMM: voxgrad vs OpenBLAS"
  "$BUILD/bin/voxgrad-gemm-bench" --threads "$THREADS" --reps "$REPS" \
    --blas "$OB/libblas.so.3" | tee "$OUT/gemm.jsonl"
fi
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
