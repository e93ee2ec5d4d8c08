#!/usr/bin/env bash
# Builds the small real data set of assets/ once, from meshes Debian ships
# in assimp-testmodels (BSD-3-Clause; see assets/README.md):
#   assets/meshes/<class>/{train,test}/<file>   the meshes, unmodified
#   assets/voxels/<class>/{train,test}/<name>.binvox   32^3, z-up, solid
# The results are committed: builds and tests never run this script and
# never download anything. Usage: scripts/make_real_set.sh (needs
# build/bin/voxelize: cmake --build --preset release --target voxelize).
set -euo pipefail
cd "$(dirname "$0")/.."
src=/usr/share/assimp/models
if [ ! -d "$src" ]; then
  echo "make_real_set: installing assimp-testmodels (the source meshes)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends assimp-testmodels
fi
voxelize=build/bin/voxelize
[ -x "$voxelize" ] || { echo "make_real_set: build $voxelize first" >&2; exit 1; }

# class split destination-name source (all y-up, as assimp's test models are)
meshes=(
  "rabbit train wuson.off         OFF/Wuson.off"
  "rabbit test  wuson.stl         STL/Wuson.stl"
  "spider train spider.obj        OBJ/spider.obj"
  "spider test  spider_binary.stl STL/Spider_binary.stl"
  "sphere train sphere_with_hole.stl STL/sphereWithHole.stl"
  "figure train figure.stl        STL/3DSMaxExport.STL"
)
rm -rf assets/meshes assets/voxels
for m in "${meshes[@]}"; do
  read -r cls split name from <<<"$m"
  mkdir -p "assets/meshes/$cls/$split" "assets/voxels/$cls/$split"
  cp "$src/$from" "assets/meshes/$cls/$split/$name"
  # The winding number fills the sphere through its hole (flood fill would
  # leave a shell); the other meshes are closed, where both fills agree.
  "$voxelize" "assets/meshes/$cls/$split/$name" --res 32 --up y \
    --fill winding --out "assets/voxels/$cls/$split"
done
