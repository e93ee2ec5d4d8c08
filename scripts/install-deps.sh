#!/usr/bin/env bash
# Installs the Debian 12 packages voxgrad needs, and only those missing.
# Idempotent: a second run installs nothing. Usage: scripts/install-deps.sh
set -euo pipefail

packages=(
  cmake g++ make git                      # toolchain
  libxtensor-dev libxsimd-dev libtbb-dev  # tensors, SIMD, threads
  nlohmann-json3-dev doctest-dev          # checkpoints/JSON, tests
  clang-format                            # the format check in scripts/test.sh
  doxygen                                 # the API reference (scripts/docs.sh)
  libstb-dev                              # PNG writing in the examples
  clang libclang-rt-14-dev                # the checkpoint fuzzer (libFuzzer)
  libopenmpi-dev openmpi-bin              # voxgrad::distributed
  libassimp-dev zlib1g-dev                # voxgrad::data: meshes, .npz
  libnanoflann-dev                        # voxgrad::metrics: k-d trees
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
