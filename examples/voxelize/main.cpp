// voxelize: meshes or grid files in, occupancy grids and pictures out; the
// command-line face of voxgrad::data (what binvox is for .binvox users).
//
//   build/bin/voxelize chair.off --res 64 --out grids/     # grids/chair.binvox
//   build/bin/voxelize a.obj b.stl --format npy --picture --out grids/
//
// Each input is read (meshes through assimp), turned z-up if --up y,
// normalised into the cube with --margin, voxelised (--mode solid|surface,
// --fill flood|winding) or brought to --res (grids), and written as
// <out>/<stem>.binvox or .npy, with <stem>.png (a shaded view and the
// middle slice) when --picture is given. One line per file reports the
// occupied voxels.

#include <filesystem>
#include <iostream>
#include <vector>

#include "cli.hpp"
#include "files.hpp"
#include "image.hpp"
#include "render.hpp"
#include "voxgrad/core/error.hpp"
#include "voxgrad/data/array_grid.hpp"
#include "voxgrad/data/binvox.hpp"
#include "voxgrad/data/voxel_folder.hpp"

using namespace voxgrad;
using namespace voxgrad::examples;

namespace {

int run(int argc, const char* const* argv) {
  std::vector<std::string> inputs;
  int i = 1;
  // Leading non-flag arguments are the inputs; the rest are flags.
  for (; i < argc && std::string(argv[i]).rfind("--", 0) != 0; ++i)
    inputs.emplace_back(argv[i]);
  std::vector<const char*> rest{argv[0]};
  for (; i < argc; ++i)
    rest.push_back(argv[i]);
  int64_t res = 32;
  double margin = 0.05;
  std::string out = ".", mode = "solid", fill = "flood", up = "z",
              format = "binvox";
  bool picture = false;
  ArgParser cli(
      "voxelize",
      "voxelize FILE... [flags]: meshes (.obj .off .stl .ply) or grids\n"
      "(.binvox .npy .npz) to occupancy grids (.binvox or .npy), optionally\n"
      "with a picture of each.");
  cli.add("res", &res, "voxels per side", 1, 1024);
  cli.add("mode", &mode, "solid or surface", {"solid", "surface"});
  cli.add("fill", &fill, "solid fill: flood or winding", {"flood", "winding"});
  cli.add("up", &up, "the inputs' up axis (turned to z)", {"z", "y"});
  cli.add("margin", &margin, "empty share of the cube per side", 0, 0.99);
  cli.add("format", &format, "output format", {"binvox", "npy"});
  cli.add("out", &out, "output folder (created)");
  cli.add_switch("picture", &picture, "also write <stem>.png");
  if (!cli.parse(static_cast<int>(rest.size()), rest.data()))
    return 0;
  VOXGRAD_CHECK(!inputs.empty(), "no input file (voxelize FILE... [flags])");
  data::VoxelFolderOptions o;
  o.resolution = res;
  o.mode = data::parse_voxelize_mode(mode);
  o.solid = data::parse_solid_method(fill);
  o.up = data::parse_up_axis(up);
  o.margin = margin;
  make_dirs(out);
  for (const std::string& in : inputs) {
    const data::VoxelGrid g = data::grid_from_file(in, o);
    const std::string stem =
        out + "/" + std::filesystem::path(in).stem().string();
    if (format == "npy")
      data::write_npy_grid(stem + ".npy", g);
    else
      data::write_binvox(stem + ".binvox", {g});
    if (picture) {
      const Tensor t = g.tensor().contiguous();
      const float* v = t.data<float>();
      const int scale = std::max<int>(1, 128 / static_cast<int>(res));
      write_png(
          stem + ".png", tile_grid(
                             {shaded_projection(v, res, View{.size = 128}),
                              volume_slice(v, res, res / 2, scale).scaled(1)},
                             2, 4));
    }
    std::cout << in << ": " << g.count() << " of " << g.numel()
              << " voxels occupied -> " << stem << "." << format << std::endl;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return run_main("voxelize", [&] { return run(argc, argv); });
}
