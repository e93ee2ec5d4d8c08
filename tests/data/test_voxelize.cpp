// Voxelisation against shapes whose voxels are known: boxes (counted
// exactly), spheres (against the analytic ball), meshes with holes, flipped
// or inconsistent orientation, overlapping parts, and hostile meshes.

#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "meshes.hpp"
#include "voxgrad/core/error.hpp"
#include "voxgrad/core/parallel.hpp"
#include "voxgrad/core/random.hpp"
#include "voxgrad/data/voxelize.hpp"
#include "voxgrad/data/winding_number.hpp"

using namespace voxgrad;
using namespace voxgrad::data;
using voxgrad::test::box_mesh;
using voxgrad::test::sphere_mesh;

namespace {

// Voxels whose centre is within r of c (the analytic ball).
VoxelGrid ball(double r, int64_t res) {
  VoxelGrid g(res, res, res);
  const double s = 2.0 / static_cast<double>(res);
  for (int64_t z = 0; z < res; ++z)
    for (int64_t y = 0; y < res; ++y)
      for (int64_t x = 0; x < res; ++x) {
        const double px = -1 + (static_cast<double>(x) + 0.5) * s,
                     py = -1 + (static_cast<double>(y) + 0.5) * s,
                     pz = -1 + (static_cast<double>(z) + 0.5) * s;
        g.set(z, y, x, px * px + py * py + pz * pz <= r * r);
      }
  return g;
}

double iou(const VoxelGrid& a, const VoxelGrid& b) {
  int64_t i = 0, u = 0;
  for (size_t k = 0; k < a.occupancy.size(); ++k) {
    i += a.occupancy[k] & b.occupancy[k];
    u += a.occupancy[k] | b.occupancy[k];
  }
  return u == 0 ? 1.0 : static_cast<double>(i) / static_cast<double>(u);
}

TriangleMesh flipped(TriangleMesh m, bool every_other) {
  for (size_t t = 0; t < m.triangles.size(); ++t)
    if (!every_other || t % 2 == 0)
      std::swap(m.triangles[t][1], m.triangles[t][2]);
  return m;
}

TriangleMesh merged(const TriangleMesh& a, const TriangleMesh& b) {
  TriangleMesh m = a;
  const auto base = static_cast<int64_t>(m.vertices.size());
  m.vertices.insert(m.vertices.end(), b.vertices.begin(), b.vertices.end());
  for (auto t : b.triangles)
    m.triangles.push_back({t[0] + base, t[1] + base, t[2] + base});
  return m;
}

// Removes the triangles whose centroid lies within `radius` of the top pole.
TriangleMesh with_hole(TriangleMesh m, double r, double radius) {
  std::vector<std::array<int64_t, 3>> kept;
  for (const auto& t : m.triangles) {
    Vec3 c{};
    for (int k = 0; k < 3; ++k)
      for (int a = 0; a < 3; ++a)
        c[a] += m.vertices[static_cast<size_t>(t[k])][a] / 3;
    const double d = std::hypot(c[0], c[1], c[2] - r);
    if (d > radius)
      kept.push_back(t);
  }
  m.triangles = kept;
  return m;
}

}  // namespace

TEST_CASE("voxelize box counts: solid and surface voxels exactly") {
  // The box [-0.55, 0.55]^3 on 8^3: its faces cut voxels 1 and 6 of each
  // axis, so the solid is voxels 1..6 (6^3) and the surface omits 2..5 (4^3).
  const TriangleMesh box = box_mesh({-0.55, -0.55, -0.55}, {0.55, 0.55, 0.55});
  for (SolidMethod m : {SolidMethod::FloodFill, SolidMethod::WindingNumber}) {
    const VoxelGrid solid = voxelize(box, {.resolution = 8, .solid = m});
    CHECK(solid.count() == 216);
    for (int64_t i = 0; i < 8; ++i)
      CHECK(solid.at(i, 3, 3) == (i >= 1 && i <= 6));
  }
  const VoxelGrid surface =
      voxelize(box, {.resolution = 8, .mode = VoxelizeMode::Surface});
  CHECK(surface.count() == 216 - 64);
  CHECK_FALSE(surface.at(3, 3, 3));
  CHECK(surface.at(1, 3, 3));
}

TEST_CASE("voxelize sphere matches the analytic ball at several resolutions") {
  const TriangleMesh s = sphere_mesh(0.7, {0, 0, 0}, 48);
  for (int64_t res : {7, 16, 33, 64}) {
    const double h = 2.0 / static_cast<double>(res);
    // Inside: every centre of the ball (less the polygon's chord error).
    // Outside: nothing beyond the ball grown by half a voxel diagonal (the
    // surface voxels' reach).
    const VoxelGrid core = ball(0.7 - 0.01, res);
    const VoxelGrid shell = ball(0.7 + h * std::sqrt(3.0) / 2 + 1e-9, res);
    for (SolidMethod m : {SolidMethod::FloodFill, SolidMethod::WindingNumber}) {
      const VoxelGrid got = voxelize(s, {.resolution = res, .solid = m});
      CAPTURE(res);
      for (size_t k = 0; k < core.occupancy.size(); ++k) {
        if (core.occupancy[k])
          REQUIRE(got.occupancy[k] == 1);
        if (!shell.occupancy[k])
          REQUIRE(got.occupancy[k] == 0);
      }
    }
  }
}

TEST_CASE("voxelize is the same for 1 and 2 threads") {
  const TriangleMesh s = sphere_mesh(0.8, {0.05, -0.1, 0}, 32);
  const int before = num_threads();
  for (VoxelizeMode mode : {VoxelizeMode::Solid, VoxelizeMode::Surface})
    for (SolidMethod m : {SolidMethod::FloodFill, SolidMethod::WindingNumber}) {
      set_num_threads(1);
      const VoxelGrid a =
          voxelize(s, {.resolution = 40, .mode = mode, .solid = m});
      set_num_threads(2);
      const VoxelGrid b =
          voxelize(s, {.resolution = 40, .mode = mode, .solid = m});
      CHECK(a == b);
    }
  set_num_threads(before);
}

TEST_CASE("winding number: fast equals exact away from the surface") {
  const TriangleMesh s = sphere_mesh(0.6, {0.1, 0, -0.05}, 24);
  const WindingNumber w(s);
  CHECK(w.exact({0.1, 0, -0.05}) == doctest::Approx(1.0).epsilon(1e-9));
  CHECK(std::abs(w.exact({0.95, 0.9, 0.9})) < 1e-9);
  Generator gen(3);
  const Tensor p = rand({400, 3}, kFloat64, &gen);
  const std::vector<double> v = p.to_vector<double>();
  // The dipole approximation is accurate to a few hundredths, and exact
  // near the surface, so inside/outside agree wherever the exact number is
  // not within that of 1/2.
  double worst = 0;
  for (size_t i = 0; i < 400; ++i) {
    const Vec3 q{2 * v[3 * i] - 1, 2 * v[3 * i + 1] - 1, 2 * v[3 * i + 2] - 1};
    const double fast = w(q), exact = w.exact(q);
    worst = std::max(worst, std::abs(fast - exact));
    if (std::abs(exact - 0.5) > 0.05)
      CHECK((fast >= 0.5) == (exact >= 0.5));
  }
  CHECK(worst < 5e-2);
}

TEST_CASE("voxelize orientation: flipped and inconsistent windings") {
  const TriangleMesh s = sphere_mesh(0.7, {0, 0, 0}, 32);
  const VoxelGrid want = voxelize(s, {.resolution = 24});
  // Flood fill ignores orientation entirely.
  CHECK(voxelize(flipped(s, true), {.resolution = 24}) == want);
  // The winding number is -1 inside an inward-wound mesh: |w| is used.
  CHECK(
      voxelize(
          flipped(s, false),
          {.resolution = 24, .solid = SolidMethod::WindingNumber}) ==
      voxelize(s, {.resolution = 24, .solid = SolidMethod::WindingNumber}));
}

TEST_CASE("voxelize overlapping parts: the union is solid") {
  // Two boxes that intersect: ray parity would call the overlap outside.
  const TriangleMesh a = box_mesh({-0.6, -0.3, -0.3}, {0.2, 0.3, 0.3});
  const TriangleMesh b = box_mesh({-0.2, -0.3, -0.3}, {0.6, 0.3, 0.3});
  const TriangleMesh whole = box_mesh({-0.6, -0.3, -0.3}, {0.6, 0.3, 0.3});
  for (SolidMethod m : {SolidMethod::FloodFill, SolidMethod::WindingNumber})
    CHECK(
        voxelize(merged(a, b), {.resolution = 20, .solid = m}) ==
        voxelize(whole, {.resolution = 20, .solid = m}));
}

TEST_CASE("voxelize holes: small ones sealed, large ones filled by winding") {
  const TriangleMesh s = sphere_mesh(0.7, {0, 0, 0}, 48);
  const VoxelGrid closed = voxelize(s, {.resolution = 16});
  // A hole narrower than a voxel (2/16 = 0.125): sealed by surface voxels.
  const TriangleMesh small = with_hole(s, 0.7, 0.05);
  REQUIRE(small.triangles.size() < s.triangles.size());
  CHECK(iou(voxelize(small, {.resolution = 16}), closed) > 0.97);
  // A hole of radius 0.3 (several voxels at 32^3): flood fill leaks (a
  // hollow shell), the winding number still fills it.
  const TriangleMesh large = with_hole(s, 0.7, 0.3);
  const VoxelGrid ref = voxelize(s, {.resolution = 32});
  const VoxelGrid flood = voxelize(large, {.resolution = 32});
  const VoxelGrid wind =
      voxelize(large, {.resolution = 32, .solid = SolidMethod::WindingNumber});
  CHECK(flood.count() < ref.count() / 2);
  CHECK(iou(wind, ref) > 0.95);
}

TEST_CASE("voxelize hostile meshes: clear errors or sensible grids") {
  TriangleMesh empty;
  CHECK_THROWS_WITH_AS(
      voxelize(empty, {}), doctest::Contains("no triangles"), Error);
  TriangleMesh nan = box_mesh({-0.5, -0.5, -0.5}, {0.5, 0.5, 0.5});
  nan.vertices[3][1] = std::nan("");
  CHECK_THROWS_WITH_AS(
      voxelize(nan, {}), doctest::Contains("vertex 3 is not finite"), Error);
  TriangleMesh bad_index = box_mesh({-0.5, -0.5, -0.5}, {0.5, 0.5, 0.5});
  bad_index.triangles[2][1] = 99;
  CHECK_THROWS_WITH_AS(
      voxelize(bad_index, {}), doctest::Contains("refers to vertex 99"), Error);
  TriangleMesh huge = box_mesh({-1e9, -1, -1}, {1, 1, 1});
  CHECK_THROWS_WITH_AS(
      voxelize(huge, {}), doctest::Contains("normalise the mesh"), Error);
  const TriangleMesh box = box_mesh({-0.5, -0.5, -0.5}, {0.5, 0.5, 0.5});
  CHECK_THROWS_WITH_AS(
      voxelize(box, {.resolution = 0}),
      doctest::Contains("resolution must be in"), Error);
  CHECK_THROWS_AS(voxelize(box, {.resolution = 100000}), Error);
  // Only degenerate triangles (a segment and a point): surface voxels along
  // the segment, no volume, no crash. The segment x in [-0.5, 0.5] on the
  // voxel boundaries y = z = 0 touches x voxels 1..6 of 4 columns.
  TriangleMesh degenerate;
  degenerate.vertices = {{-0.5, 0, 0}, {0.5, 0, 0}, {0, 0, 0}, {0.1, 0.1, 0.1}};
  degenerate.triangles = {{0, 1, 2}, {3, 3, 3}};
  for (SolidMethod m : {SolidMethod::FloodFill, SolidMethod::WindingNumber}) {
    const VoxelGrid g = voxelize(degenerate, {.resolution = 8, .solid = m});
    CHECK(g.count() == 24);
  }
  // Entirely outside the grid: an empty grid.
  CHECK(
      voxelize(box_mesh({3, 3, 3}, {4, 4, 4}), {.resolution = 8}).count() == 0);
  // Non-manifold: three boxes sharing one edge, and a dangling sheet.
  TriangleMesh nm = merged(
      box_mesh({-0.5, -0.5, -0.5}, {0, 0, 0}),
      box_mesh({0, 0, -0.5}, {0.5, 0.5, 0}));
  nm = merged(nm, box_mesh({-0.5, 0, -0.5}, {0, 0.5, 0}));
  nm.vertices.push_back({0.5, -0.5, 0.5});
  nm.triangles.push_back({0, 1, static_cast<int64_t>(nm.vertices.size()) - 1});
  CHECK(voxelize(nm, {.resolution = 16}).count() > 0);
  // Work beyond the limit: many triangles spanning the whole grid.
  TriangleMesh big;
  big.vertices = {{-1, -1, -1}, {1, 1, -1}, {1, -1, 1}};
  for (int i = 0; i < 600; ++i)
    big.triangles.push_back({0, 1, 2});
  CHECK_THROWS_WITH_AS(
      voxelize(big, {.resolution = 256, .mode = VoxelizeMode::Surface}),
      doctest::Contains("triangle-voxel tests"), Error);
}

TEST_CASE("normalized: centred, longest side spans the margin box") {
  const TriangleMesh m = box_mesh({2, 3, 4}, {6, 4, 5});
  const TriangleMesh n = normalized(m, 0.1);
  double lo[3] = {9, 9, 9}, hi[3] = {-9, -9, -9};
  for (const Vec3& v : n.vertices)
    for (int a = 0; a < 3; ++a) {
      lo[a] = std::min(lo[a], v[a]);
      hi[a] = std::max(hi[a], v[a]);
    }
  CHECK(lo[0] == doctest::Approx(-0.9));
  CHECK(hi[0] == doctest::Approx(0.9));
  CHECK(hi[1] == doctest::Approx(0.225));
  CHECK(lo[2] == doctest::Approx(-0.225));
  TriangleMesh point;
  point.vertices = {{1, 1, 1}};
  point.triangles = {{0, 0, 0}};
  CHECK_THROWS_WITH_AS(
      normalized(point, 0.1), doctest::Contains("no extent"), Error);
  CHECK_THROWS_AS(normalized(m, 1.0), Error);
  // Coordinates near the double range still normalise (no inf extents).
  const TriangleMesh far =
      box_mesh({-1e308, -1e308, -1e308}, {1e308, 1e308, 1e308});
  CHECK(voxelize(normalized(far, 0.05), {.resolution = 8}).count() == 512);
}

TEST_CASE("y_up_to_z_up: mesh and grid rotate alike") {
  // A box tall along y becomes tall along z.
  const TriangleMesh m = box_mesh({-0.2, -0.8, -0.2}, {0.2, 0.8, 0.1});
  const VoxelGrid from_mesh = voxelize(y_up_to_z_up(m), {.resolution = 16});
  const VoxelGrid from_grid = y_up_to_z_up(voxelize(m, {.resolution = 16}));
  CHECK(from_mesh == from_grid);
  CHECK(from_mesh.at(2, 8, 8));  // low z, centre
  CHECK_FALSE(from_mesh.at(8, 2, 8));
}
