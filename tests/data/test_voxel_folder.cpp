// VoxelFolder on a tiny fake ModelNet (class/train|test/*.off, with
// ModelNet's "OFF<counts>" header defect), a folder without a split, mixed
// grid files, and its cache: reused when nothing changed, remade for a
// changed source or setting.

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "meshes.hpp"
#include "voxgrad/core/error.hpp"
#include "voxgrad/data/array_grid.hpp"
#include "voxgrad/data/binvox.hpp"
#include "voxgrad/data/voxel_folder.hpp"

using namespace voxgrad;
using namespace voxgrad::data;
namespace fs = std::filesystem;

namespace {

// Options by assignment: GCC 12 warns (-Wmaybe-uninitialized, a false
// positive) on designated initialisers of structs holding strings.
VoxelFolderOptions at(int64_t res) {
  VoxelFolderOptions o;
  o.resolution = res;
  return o;
}

// chair: tall boxes, table: flat boxes; 3 train + 2 test each. A folder
// per test case: ctest runs cases in parallel processes.
std::string fake_modelnet(const std::string& name) {
  const std::string root = test::scratch_dir(name);
  for (int i = 0; i < 5; ++i) {
    const double s = 0.1 * i;
    const std::string split = i < 3 ? "train" : "test";
    test::write_text(
        root + "/chair/" + split + "/chair_000" + std::to_string(i) + ".off",
        test::off_text(test::box_mesh({0, 0, 0}, {1 + s, 1, 3}), i == 1));
    test::write_text(
        root + "/table/" + split + "/table_000" + std::to_string(i) + ".off",
        test::off_text(test::box_mesh({0, 0, 0}, {3, 2 + s, 1})));
  }
  test::write_text(root + "/README.txt", "not a mesh");
  test::write_text(root + "/table/train/notes.txt", "not a mesh either");
  return root;
}

}  // namespace

TEST_CASE("VoxelFolder reads a ModelNet-layout folder") {
  const std::string root = fake_modelnet("modelnet_read");
  VoxelFolder data(root, at(16));
  CHECK(data.classes() == std::vector<std::string>{"chair", "table"});
  CHECK(data.has_own_split());
  REQUIRE(data.size(Split::Train) == 6);
  REQUIRE(data.size(Split::Test) == 4);
  CHECK(data.item(Split::Train, 0).path == "chair/train/chair_0000.off");
  CHECK(data.item(Split::Train, 0).label == 0);
  CHECK(data.item(Split::Test, 3).path == "table/test/table_0004.off");
  CHECK(data.item(Split::Test, 3).label == 1);
  CHECK_THROWS_WITH_AS(
      data.grid(Split::Train, 0), doctest::Contains("prepare()"), Error);
  CHECK(data.prepare() == 10);
  const Tensor x = data.batch(Split::Train, {0, 4});
  CHECK(x.shape() == Shape{2, 1, 16, 16, 16});
  // A chair is tall (z), a table flat: compare their occupied z layers.
  const VoxelGrid& chair = data.grid(Split::Train, 0);
  const VoxelGrid& table = data.grid(Split::Train, 4);
  auto layers = [](const VoxelGrid& g) {
    int64_t n = 0;
    for (int64_t z = 0; z < g.depth; ++z) {
      bool any = false;
      for (int64_t i = 0; i < g.height * g.width; ++i)
        any =
            any || g.occupancy[static_cast<size_t>(z * g.height * g.width + i)];
      n += any;
    }
    return n;
  };
  CHECK(layers(chair) > 2 * layers(table));
  CHECK(x.sum().item() == static_cast<double>(chair.count() + table.count()));
  CHECK_THROWS_AS(data.item(Split::Test, 4), Error);
  CHECK(data.range(Split::Test, 0, 4).size(0) == 4);
}

TEST_CASE(
    "VoxelFolder cache: reused, and remade when a source or setting changes") {
  const std::string root = fake_modelnet("modelnet_cache");
  VoxelFolder first(root, at(16));
  CHECK(first.prepare() == 10);
  VoxelFolder again(root, at(16));
  CHECK(again.prepare() == 0);
  for (int64_t i = 0; i < again.size(Split::Train); ++i)
    CHECK(again.grid(Split::Train, i) == first.grid(Split::Train, i));
  // Another resolution is another set of cache files.
  VoxelFolder coarse(root, at(8));
  CHECK(coarse.prepare() == 10);
  // A changed source is remade, the others are not.
  test::write_text(
      root + "/chair/train/chair_0000.off",
      test::off_text(test::box_mesh({0, 0, 0}, {1, 1, 1})));
  VoxelFolder changed(root, at(16));
  CHECK(changed.prepare() == 1);
  CHECK(changed.grid(Split::Train, 0) != first.grid(Split::Train, 0));
  // A damaged cache file and a damaged manifest are remade, not trusted.
  const std::string cache = root + "/.voxgrad_cache";
  for (const auto& e : fs::directory_iterator(cache)) {
    const std::string p = e.path().string();
    if (p.ends_with(".npy") || p.ends_with(".json"))
      test::write_text(p, "garbage");
  }
  VoxelFolder damaged(root, at(16));
  CHECK(damaged.prepare() == 10);
  CHECK(damaged.grid(Split::Train, 1) == first.grid(Split::Train, 1));
  // An explicit cache folder; an impossible one is an error naming it.
  const std::string elsewhere = test::scratch_dir("elsewhere_cache");
  VoxelFolder moved(root, [&] {
    auto o = at(16);
    o.cache_dir = elsewhere;
    return o;
  }());
  CHECK(moved.prepare() == 10);
  CHECK(fs::exists(elsewhere));
  VoxelFolder bad(root, [&] {
    auto o = at(16);
    o.cache_dir = root + "/README.txt/x";
    return o;
  }());
  CHECK_THROWS_WITH_AS(
      bad.prepare(), doctest::Contains("cannot create the cache folder"),
      Error);
}

TEST_CASE("VoxelFolder without a split holds out by path hash, grid files") {
  const std::string root = test::scratch_dir("grids");
  VoxelGrid g(32, 32, 32);
  for (int64_t z = 8; z < 24; ++z)
    g.set(z, 16, 16, true);
  fs::create_directories(root + "/rod");
  for (int i = 0; i < 12; ++i) {
    write_npy_grid(root + "/rod/id" + std::to_string(i) + ".npy", g);
    fs::create_directories(root + "/block/m" + std::to_string(i));
    write_binvox(root + "/block/m" + std::to_string(i) + "/model.binvox", {g});
  }
  VoxelFolder data(root, [] {
    auto o = at(16);
    o.test_fraction = 0.25;
    return o;
  }());
  CHECK_FALSE(data.has_own_split());
  CHECK(data.size(Split::Train) + data.size(Split::Test) == 24);
  CHECK(data.size(Split::Test) >= 2);
  CHECK(data.size(Split::Test) <= 12);
  data.prepare();
  // 32^3 grids are brought to 16^3 by "any occupied" pooling.
  CHECK(data.grid(Split::Train, 0).count() == 8);
  // The same split on every run.
  VoxelFolder again(root, [] {
    auto o = at(16);
    o.test_fraction = 0.25;
    return o;
  }());
  for (int64_t i = 0; i < data.size(Split::Test); ++i)
    CHECK(again.item(Split::Test, i).path == data.item(Split::Test, i).path);
  // A resolution the grids cannot reach.
  VoxelFolder up(root, at(64));
  CHECK_THROWS_WITH_AS(
      up.prepare(), doctest::Contains("cannot be brought to 64^3"), Error);
}

TEST_CASE("VoxelFolder bad folders and options") {
  CHECK_THROWS_WITH_AS(
      VoxelFolder("no/such/folder", at(32)),
      doctest::Contains("is not a folder"), Error);
  const std::string empty = test::scratch_dir("empty");
  test::write_text(
      empty + "/loose.off",
      test::off_text(test::box_mesh({0, 0, 0}, {1, 1, 1})));
  CHECK_THROWS_WITH_AS(
      VoxelFolder(empty, at(32)), doctest::Contains("holds no mesh"), Error);
  CHECK_THROWS_AS(VoxelFolder(empty, at(0)), Error);
  CHECK_THROWS_AS(
      VoxelFolder(
          empty,
          [] {
            auto o = at(32);
            o.margin = 1.5;
            return o;
          }()),
      Error);
  // A broken source is reported by name.
  const std::string broken = test::scratch_dir("broken");
  test::write_text(broken + "/a/train/bad.off", "OFF\n1 1 0\n");
  VoxelFolder b(broken, at(32));
  CHECK_THROWS_WITH_AS(b.prepare(), doctest::Contains("bad.off"), Error);
}
