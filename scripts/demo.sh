#!/usr/bin/env bash
# The main job, end to end on a fresh Debian 12 machine: installs the Debian
# packages that are missing, builds the voxel VAE example (Release), trains
# it for about five minutes on 2 cores and writes what it learned:
#   demo_out/reconstructions.png  held-out shapes beside their reconstructions
#   demo_out/samples.png          random samples from the prior
#   demo_out/loss_curve.svg       the training curve
#   demo_out/sample_*.obj         sample meshes
# The last line printed is JSON: {"iou": ..., "loss": ..., "steps": ...,
# "seconds": ...}. Extra arguments go to voxel_vae, e.g.
#   scripts/demo.sh --steps 4000     # the full default run (IoU >= 0.90)
#   scripts/demo.sh --out elsewhere --threads 4
# JOBS=N sets the build parallelism (default: 2).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs="${JOBS:-2}"

scripts/install-deps.sh

echo "== building voxel_vae (Release)"
cmake --preset release >/dev/null
cmake --build --preset release -j "$jobs" --target voxel_vae

# Demo defaults, unless the caller gave these flags (voxel_vae rejects a
# flag given twice).
args=()
[[ " $* " == *" --steps"* ]] || args+=(--steps 2000)
[[ " $* " == *" --out"* ]] || args+=(--out demo_out)

echo "== training (about 5 minutes on 2 cores)"
build/bin/voxel_vae "${args[@]}" "$@"
