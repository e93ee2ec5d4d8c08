// The voxgrad::data code of README.md and of voxgrad/data's header
// comments, verbatim (ctest docs_snippets_in_sync checks that), run here on
// copies of the committed real set (assets/: ModelNet's class/train|test
// layout, meshes and their grids). Edit a block and its copy together.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <iostream>
#include <string>

#include "voxgrad/data/grid.hpp"
#include "voxgrad/data/mesh.hpp"
#include "voxgrad/data/mesh_io.hpp"
#include "voxgrad/data/voxel_folder.hpp"
#include "voxgrad/data/voxelize.hpp"
#include "voxgrad/data/winding_number.hpp"

namespace voxgrad::data {
namespace {

namespace fs = std::filesystem;

// README.md, "Real data and the metrics of 3-D papers".
Tensor readme_data_block() {
  // the block as README.md shows it (not clang-formatted):
  // clang-format off
  // #include <voxgrad/data/voxel_folder.hpp>, link voxgrad::data
  voxgrad::data::VoxelFolder data("ModelNet10", {.resolution = 32});
  data.prepare(&std::cout);  // voxelises once; later runs read the cache
  Tensor x = data.batch(voxgrad::data::Split::Train, {0, 1, 2});  // (3, 1, 32, 32, 32)
  // clang-format on
  return x;
}

// voxgrad/data/voxel_folder.hpp
Tensor voxel_folder_hpp() {
  // clang-format off
  VoxelFolder data("ModelNet10", {.resolution = 32});
  data.prepare(&std::cout);   // voxelise what the cache lacks
  Tensor x = data.batch(Split::Train, {0, 1, 2});  // (3, 1, 32, 32, 32)
  // clang-format on
  return x;
}

// voxgrad/data/grid.hpp
Tensor grid_hpp(int64_t z, int64_t y, int64_t x) {
  // clang-format off
  VoxelGrid g(32, 32, 32);  g.set(z, y, x, true);  Tensor t = g.tensor();
  // clang-format on
  return t;
}

// voxgrad/data/mesh.hpp
TriangleMesh mesh_hpp() {
  TriangleMesh m{{{0, 0, 0}, {1, 0, 0}, {0, 1, 0}}, {{0, 1, 2}}};
  return m;
}

// voxgrad/data/mesh_io.hpp
TriangleMesh mesh_io_hpp() {
  TriangleMesh m = load_mesh("chair_0001.off");
  return m;
}

// voxgrad/data/voxelize.hpp
VoxelGrid voxelize_hpp() {
  VoxelGrid g = voxelize(normalized(load_mesh("a.off"), 0.05), {});
  return g;
}

// voxgrad/data/winding_number.hpp
bool winding_number_hpp(const TriangleMesh& mesh, const Vec3& p) {
  // clang-format off
  WindingNumber w(mesh);  bool inside = std::abs(w(p)) >= 0.5;
  // clang-format on
  return inside;
}

// A fresh temporary directory, made the current one, with copies of the
// committed grids as ModelNet10/ and of a mesh as chair_0001.off and a.off.
struct SnippetDir {
  fs::path old = fs::current_path();
  fs::path dir = fs::temp_directory_path() /
                 ("voxgrad_data_snippets_" + std::to_string(::getpid()));
  SnippetDir() {
    const fs::path assets = fs::path(VOXGRAD_SOURCE_DIR) / "assets";
    fs::remove_all(dir);
    fs::create_directories(dir);
    fs::copy(
        assets / "voxels", dir / "ModelNet10", fs::copy_options::recursive);
    const fs::path off = assets / "meshes/rabbit/train/wuson.off";
    fs::copy_file(off, dir / "chair_0001.off");
    fs::copy_file(off, dir / "a.off");
    fs::current_path(dir);
  }
  ~SnippetDir() {
    std::error_code ec;
    fs::current_path(old, ec);
    fs::remove_all(dir, ec);
  }
  SnippetDir(const SnippetDir&) = delete;
  SnippetDir& operator=(const SnippetDir&) = delete;
};

}  // namespace

TEST_CASE("doc snippets: VoxelFolder reads a ModelNet-style folder") {
  SnippetDir here;
  CHECK(readme_data_block().shape() == Shape{3, 1, 32, 32, 32});
  CHECK(voxel_folder_hpp().shape() == Shape{3, 1, 32, 32, 32});
}

TEST_CASE("doc snippets: grids, meshes, voxelisation, winding numbers") {
  const Tensor t = grid_hpp(1, 2, 3);
  CHECK(t.sum().item() == 1.0);
  const TriangleMesh tri = mesh_hpp();
  CHECK(tri.triangles.size() == 1);
  SnippetDir here;
  const TriangleMesh m = mesh_io_hpp();
  CHECK(!m.triangles.empty());
  CHECK(voxelize_hpp().tensor().sum().item() > 0);
  // A point far outside the rabbit has winding number ~0.
  CHECK(!winding_number_hpp(m, Vec3{1e6, 1e6, 1e6}));
}

}  // namespace voxgrad::data
