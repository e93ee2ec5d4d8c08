// Grid files (.binvox, .npy, .npz) against files NumPy wrote
// (tools/gen_data_files.py), round trips, and damaged bytes; meshes in
// each format through assimp, against the mesh itself.

#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "meshes.hpp"
#include "voxgrad/core/error.hpp"
#include "voxgrad/data/array_grid.hpp"
#include "voxgrad/data/binvox.hpp"
#include "voxgrad/data/mesh_io.hpp"
#include "voxgrad/data/voxelize.hpp"

using namespace voxgrad;
using namespace voxgrad::data;

namespace {

const std::string kFiles =
    std::string(VOXGRAD_SOURCE_DIR) + "/tests/data/files/";

nlohmann::json expected() {
  std::ifstream in(kFiles + "expected.json");
  return nlohmann::json::parse(in);
}

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

// The reference grid in voxgrad's layout (z, y, x) from expected.json.
VoxelGrid reference() {
  const nlohmann::json e = expected();
  VoxelGrid g(e["extent_xyz"][2], e["extent_xyz"][1], e["extent_xyz"][0]);
  for (const auto& p : e["occupied_xyz"])
    g.set(p[2], p[1], p[0], true);
  return g;
}

}  // namespace

TEST_CASE("grid files written by NumPy read as the reference grid") {
  const VoxelGrid want = reference();
  REQUIRE(want.count() > 20);
  CHECK(
      read_npy_grid(kFiles + "grid_xyz_bool.npy", {.axes = ArrayAxes::XYZ}) ==
      want);
  CHECK(read_npy_grid(kFiles + "grid_zyx_f4_fortran.npy") == want);
  CHECK(read_npy_grid(kFiles + "grid_zyx_i8_batched.npy") == want);
  CHECK(
      read_npz_grid(kFiles + "grids_compressed.npz", {.npz_key = "voxels"}) ==
      want);
  CHECK(read_npz_grid(kFiles + "grid_stored.npz") == want);
  const Binvox b = read_binvox(kFiles + "grid.binvox");
  CHECK(b.grid == want);
  CHECK(b.translate[1] == -0.25);
  CHECK(b.scale == 3.5);
  const Binvox block = read_binvox(kFiles + "block40.binvox");
  CHECK(block.grid.count() == expected()["block40_count"].get<int64_t>());
  // A threshold above the stored 0.9 leaves nothing.
  CHECK(
      read_npy_grid(kFiles + "grid_zyx_f4_fortran.npy", {.threshold = 0.95})
          .count() == 0);
  CHECK(
      npz_keys(kFiles + "grids_compressed.npz") ==
      std::vector<std::string>{"voxels", "labels"});
  CHECK_THROWS_WITH_AS(
      read_npz_grid(kFiles + "grids_compressed.npz"),
      doctest::Contains("holds 2 arrays (voxels.npy, labels.npy)"), Error);
  CHECK_THROWS_WITH_AS(
      read_npz_grid(kFiles + "grids_compressed.npz", {.npz_key = "labels"}),
      doctest::Contains("must have shape (D, H, W)"), Error);
}

TEST_CASE("grid files round-trip: binvox writes what NumPy's writer wrote") {
  const VoxelGrid want = reference();
  Binvox b{want, {0.5, -0.25, 1.0}, 3.5};
  CHECK(format_binvox(b) == slurp(kFiles + "grid.binvox"));
  CHECK(
      format_binvox(read_binvox(kFiles + "block40.binvox")) ==
      slurp(kFiles + "block40.binvox"));
  CHECK(parse_binvox(format_binvox(b), "mem").grid == want);
  CHECK(parse_npy_grid(format_npy_grid(want), "mem") == want);
  const std::string dir = test::scratch_dir("roundtrip");
  write_npy_grid(dir + "/g.npy", want);
  write_binvox(dir + "/g.binvox", b);
  CHECK(read_npy_grid(dir + "/g.npy") == want);
  CHECK(read_binvox(dir + "/g.binvox").grid == want);
}

TEST_CASE("damaged grid files: errors that name the file and the fault") {
  const std::string bv = slurp(kFiles + "grid.binvox");
  CHECK_THROWS_WITH_AS(
      parse_binvox("", "x.binvox"),
      doctest::Contains("'x.binvox' is not a .binvox file"), Error);
  CHECK_THROWS_WITH_AS(
      parse_binvox(bv.substr(0, bv.size() - 2), "x"),
      doctest::Contains("truncated"), Error);
  CHECK_THROWS_WITH_AS(
      parse_binvox(bv + "\x01\x05", "x"), doctest::Contains("after the runs"),
      Error);
  std::string over = bv;
  over[over.size() - 1] = static_cast<char>(over[over.size() - 1] + 1);
  CHECK_THROWS_WITH_AS(
      parse_binvox(over, "x"), doctest::Contains("overrun"), Error);
  std::string two = bv;
  two[two.size() - 2] = 2;
  CHECK_THROWS_WITH_AS(
      parse_binvox(two, "x"), doctest::Contains("is not 0 or 1"), Error);
  CHECK_THROWS_WITH_AS(
      parse_binvox("#binvox 1\ndim 100000 100000 100000\ndata\n", "x"),
      doctest::Contains("each extent must be in [1, 4096]"), Error);
  CHECK_THROWS_WITH_AS(
      parse_binvox("#binvox 1\ndim 4096 4096 4096\ndata\n", "x"),
      doctest::Contains("more than the limit of"), Error);
  CHECK_THROWS_WITH_AS(
      parse_binvox("#binvox 1\ndim -1 2 2\ndata\n", "x"),
      doctest::Contains("extent"), Error);
  CHECK_THROWS_WITH_AS(
      parse_binvox("#binvox 2\ndim 1 1 1\ndata\n\x01\x01", "x"),
      doctest::Contains("version"), Error);
  CHECK_THROWS_WITH_AS(
      parse_binvox("#binvox 1\ndata\n", "x"), doctest::Contains("no 'dim'"),
      Error);

  const std::string npy = slurp(kFiles + "grid_zyx_i8_batched.npy");
  CHECK_THROWS_WITH_AS(
      parse_npy_grid("PK\x03\x04", "x.npy"), doctest::Contains("not a .npy"),
      Error);
  CHECK_THROWS_WITH_AS(
      parse_npy_grid(npy.substr(0, npy.size() - 1), "x"),
      doctest::Contains("truncated"), Error);
  std::string big_endian = npy;
  big_endian.replace(big_endian.find("<i8"), 3, ">i8");
  CHECK_THROWS_WITH_AS(
      parse_npy_grid(big_endian, "x"), doctest::Contains("big-endian"), Error);
  std::string complex = npy;
  complex.replace(complex.find("<i8"), 3, "<c8");
  CHECK_THROWS_WITH_AS(
      parse_npy_grid(complex, "x"), doctest::Contains("not a supported dtype"),
      Error);
  // Grids go through the core's strict header reader (tests/core/test_npy.cpp
  // covers its grammar): a few of its refusals seen from here.
  std::string junk = npy;
  junk.replace(junk.find("(1, 7, 6, 5)"), 12, "(1, 7, 6, 5j)");
  CHECK_THROWS_WITH_AS(
      parse_npy_grid(junk, "x"), doctest::Contains("not an integer"), Error);
  std::string fractional = npy;
  fractional.replace(fractional.find("(1, 7, 6, 5)"), 12, "(1, 7, 6.0, 5)");
  CHECK_THROWS_WITH_AS(
      parse_npy_grid(fractional, "x"), doctest::Contains("'6.0'"), Error);
  std::string wrapping = npy;
  wrapping.replace(
      wrapping.find("(1, 7, 6, 5)"), 12, "(3, 6148914691236517206, 1, 1)");
  CHECK_THROWS_AS(parse_npy_grid(wrapping, "x"), Error);
  std::string huge = npy;
  huge.replace(huge.find("(1, 7, 6, 5)"), 12, "(1, 7, 6, 9999999999999)");
  CHECK_THROWS_AS(parse_npy_grid(huge, "x"), Error);
  std::string nan_grid = format_npy_grid(reference());
  nan_grid.replace(nan_grid.find("|u1"), 3, "<f4");
  CHECK_THROWS_AS(parse_npy_grid(nan_grid, "x"), Error);  // size mismatch

  const std::string dir = test::scratch_dir("damaged");
  std::string zip = slurp(kFiles + "grids_compressed.npz");
  test::write_text(dir + "/short.npz", zip.substr(0, zip.size() / 2));
  CHECK_THROWS_WITH_AS(
      read_npz_grid(dir + "/short.npz"), doctest::Contains("short.npz"), Error);
  // One flipped byte inside the compressed data: inflate or CRC-32 fails.
  const size_t at = zip.find("voxels.npy") + 40;
  zip[at] = static_cast<char>(zip[at] ^ 0x5A);
  test::write_text(dir + "/flipped.npz", zip);
  CHECK_THROWS_AS(
      read_npz_grid(dir + "/flipped.npz", {.npz_key = "voxels"}), Error);
  CHECK_THROWS_WITH_AS(
      read_npy_grid(dir + "/missing.npy"),
      doctest::Contains("is not a readable file"), Error);
  CHECK_THROWS_AS(parse_array_axes("yxz"), Error);
}

TEST_CASE("load_mesh reads OBJ, OFF, STL and PLY into the same solid") {
  const TriangleMesh box = test::box_mesh({-0.6, -0.4, -0.5}, {0.7, 0.5, 0.3});
  const VoxelGrid want = voxelize(box, {.resolution = 12});
  const std::string dir = test::scratch_dir("meshes");
  std::string obj, stl = "solid box\n", ply;
  for (const Vec3& v : box.vertices)
    obj += "v " + std::to_string(v[0]) + " " + std::to_string(v[1]) + " " +
           std::to_string(v[2]) + "\n";
  for (const auto& t : box.triangles) {
    obj += "f " + std::to_string(t[0] + 1) + " " + std::to_string(t[1] + 1) +
           " " + std::to_string(t[2] + 1) + "\n";
    stl += "facet normal 0 0 0\nouter loop\n";
    for (int64_t k : t) {
      const Vec3& v = box.vertices[static_cast<size_t>(k)];
      stl += "vertex " + std::to_string(v[0]) + " " + std::to_string(v[1]) +
             " " + std::to_string(v[2]) + "\n";
    }
    stl += "endloop\nendfacet\n";
  }
  stl += "endsolid box\n";
  ply =
      "ply\nformat ascii 1.0\nelement vertex 8\nproperty float x\nproperty "
      "float y\nproperty float z\nelement face 12\nproperty list uchar int "
      "vertex_indices\nend_header\n";
  for (const Vec3& v : box.vertices)
    ply += std::to_string(v[0]) + " " + std::to_string(v[1]) + " " +
           std::to_string(v[2]) + "\n";
  for (const auto& t : box.triangles)
    ply += "3 " + std::to_string(t[0]) + " " + std::to_string(t[1]) + " " +
           std::to_string(t[2]) + "\n";
  // Binary STL: 80-byte header, count, then per facet normal + 3 vertices
  // (float32) + 2 attribute bytes.
  std::string bin(80, ' ');
  const uint32_t count = 12;
  bin.append(reinterpret_cast<const char*>(&count), 4);
  for (const auto& t : box.triangles) {
    float f[12] = {};
    for (int k = 0; k < 3; ++k)
      for (int a = 0; a < 3; ++a)
        f[3 + 3 * k + a] =
            static_cast<float>(box.vertices[static_cast<size_t>(t[k])][a]);
    bin.append(reinterpret_cast<const char*>(f), sizeof f);
    bin.append(2, '\0');
  }
  test::write_text(dir + "/box.obj", obj);
  test::write_text(dir + "/box.off", test::off_text(box));
  test::write_text(dir + "/box_modelnet.OFF", test::off_text(box, true));
  test::write_text(dir + "/box.stl", stl);
  test::write_text(dir + "/box_binary.stl", bin);
  test::write_text(dir + "/box.ply", ply);
  for (const char* name :
       {"box.obj", "box.off", "box_modelnet.OFF", "box.stl", "box_binary.stl",
        "box.ply"}) {
    CAPTURE(name);
    CHECK(is_mesh_file(name));
    const TriangleMesh m = load_mesh(dir + "/" + name);
    CHECK(m.triangles.size() == 12);
    CHECK(voxelize(m, {.resolution = 12}) == want);
  }
}

TEST_CASE("load_mesh hostile files: errors naming the file") {
  const std::string dir = test::scratch_dir("bad_meshes");
  test::write_text(dir + "/empty.off", "");
  test::write_text(
      dir + "/garbage.obj", std::string("\x00\x01\x02 not a mesh\n", 16));
  test::write_text(dir + "/points.obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\n");
  // A binary STL whose second vertex is NaN: assimp's readers drop or
  // replace what they cannot parse, so no NaN arrives (check_mesh would
  // reject one: see the voxelize tests).
  std::string nan_stl(80, ' ');
  const uint32_t one = 1;
  nan_stl.append(reinterpret_cast<const char*>(&one), 4);
  const float f[12] = {0, 0, 1, 0, 0, 0, std::nanf(""), 1, 0, 0, 1, 0};
  nan_stl.append(reinterpret_cast<const char*>(f), sizeof f);
  nan_stl.append(2, '\0');
  test::write_text(dir + "/nan.stl", nan_stl);
  test::write_text(dir + "/short.stl", std::string(84, '\0') + "abc");
  CHECK_THROWS_WITH_AS(
      load_mesh(dir + "/missing.obj"), doctest::Contains("missing.obj"), Error);
  CHECK_THROWS_WITH_AS(
      load_mesh(dir + "/empty.off"), doctest::Contains("empty.off"), Error);
  for (const char* name : {"garbage.obj", "points.obj", "short.stl"}) {
    CAPTURE(name);
    CHECK_THROWS_WITH_AS(
        load_mesh(dir + "/" + name), doctest::Contains(name), Error);
  }
  CHECK_THROWS_AS(load_mesh(dir), Error);
  // A face without indices trips one of assimp's assertions, which aborts:
  // the reading child dies, the caller gets an error (NOTE [ Reading
  // meshes in a child process ]).
  test::write_text(dir + "/abort.off", "OFF\n1 1 0\n");
  CHECK_THROWS_WITH_AS(
      load_mesh(dir + "/abort.off"), doctest::Contains("abort.off"), Error);
  try {
    const TriangleMesh m = load_mesh(dir + "/nan.stl");
    for (const Vec3& v : m.vertices)
      CHECK(
          (std::isfinite(v[0]) && std::isfinite(v[1]) && std::isfinite(v[2])));
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("nan.stl") != std::string::npos);
  }
}
