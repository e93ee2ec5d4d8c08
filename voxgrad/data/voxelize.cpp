#include "voxgrad/data/voxelize.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "voxgrad/core/error.hpp"
#include "voxgrad/core/parallel.hpp"
#include "voxgrad/data/winding_number.hpp"

namespace voxgrad::data {
namespace {

using Tri = std::array<Vec3, 3>;

Vec3 sub(const Vec3& a, const Vec3& b) {
  return {a[0] - b[0], a[1] - b[1], a[2] - b[2]};
}
Vec3 cross(const Vec3& a, const Vec3& b) {
  return {
      a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2],
      a[0] * b[1] - a[1] * b[0]};
}
double dot(const Vec3& a, const Vec3& b) {
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

// Separating-axis test of a triangle (relative to the box centre) against
// the box [-h, h]^3: the 3 box normals, the triangle's normal and the 9
// cross products of box normals and edges (Akenine-Moller 2001).
bool triangle_box_overlap(const Tri& t, double h) {
  const Vec3 e[3] = {sub(t[1], t[0]), sub(t[2], t[1]), sub(t[0], t[2])};
  for (int a = 0; a < 3; ++a)
    for (const Vec3& edge : e) {
      Vec3 axis{};  // unit_a x edge
      axis[(a + 1) % 3] = -edge[(a + 2) % 3];
      axis[(a + 2) % 3] = edge[(a + 1) % 3];
      const double p0 = dot(axis, t[0]), p1 = dot(axis, t[1]),
                   p2 = dot(axis, t[2]);
      const double r =
          h * (std::abs(axis[0]) + std::abs(axis[1]) + std::abs(axis[2]));
      if (std::min({p0, p1, p2}) > r || std::max({p0, p1, p2}) < -r)
        return false;
    }
  for (int a = 0; a < 3; ++a)
    if (std::min({t[0][a], t[1][a], t[2][a]}) > h ||
        std::max({t[0][a], t[1][a], t[2][a]}) < -h)
      return false;
  const Vec3 n = cross(e[0], e[1]);
  const double r = h * (std::abs(n[0]) + std::abs(n[1]) + std::abs(n[2]));
  return std::abs(dot(n, t[0])) <= r;
}

// Voxel index range [lo, hi] whose cubes [i - 1/2, i + 1/2] (grid units)
// meet [a, b], clipped to the grid; lo > hi when none.
std::pair<int64_t, int64_t> cover(double a, double b, int64_t res) {
  const double lo = std::max(0.0, std::ceil(a - 0.5));
  const double hi = std::min(static_cast<double>(res - 1), std::floor(b + 0.5));
  if (lo > hi)
    return {1, 0};
  return {static_cast<int64_t>(lo), static_cast<int64_t>(hi)};
}

// Triangles in grid units: voxel i's centre at i, its cube [i - 1/2, i + 1/2].
std::vector<Tri> to_grid_units(const TriangleMesh& mesh, int64_t res) {
  const double s = static_cast<double>(res) / 2;
  std::vector<Tri> tris;
  tris.reserve(mesh.triangles.size());
  for (const auto& t : mesh.triangles) {
    Tri g;
    for (int k = 0; k < 3; ++k)
      for (int a = 0; a < 3; ++a)
        g[k][a] = (mesh.vertices[static_cast<size_t>(t[k])][a] + 1) * s - 0.5;
    tris.push_back(g);
  }
  return tris;
}

// Surface voxels. Triangles are bucketed by the z slices they touch, then
// slices are filled in parallel: each slice is written by one task only, and
// a voxel's value does not depend on the order of its triangles.
void mark_surface(const std::vector<Tri>& tris, VoxelGrid& g) {
  const int64_t res = g.depth;
  std::vector<std::vector<int64_t>> bucket(static_cast<size_t>(res));
  int64_t work = 0;
  for (size_t i = 0; i < tris.size(); ++i) {
    const Tri& t = tris[i];
    std::pair<int64_t, int64_t> r[3];
    for (int a = 0; a < 3; ++a)
      r[a] = cover(
          std::min({t[0][a], t[1][a], t[2][a]}),
          std::max({t[0][a], t[1][a], t[2][a]}), res);
    if (r[0].first > r[0].second || r[1].first > r[1].second ||
        r[2].first > r[2].second)
      continue;  // outside the grid
    work += (r[0].second - r[0].first + 1) * (r[1].second - r[1].first + 1) *
            (r[2].second - r[2].first + 1);
    VOXGRAD_CHECK(
        work <= kMaxVoxelizeWork, "voxelize: the mesh needs more than ",
        kMaxVoxelizeWork, " triangle-voxel tests at resolution ", res, " (",
        tris.size(),
        " triangles, many of them large); lower the resolution or simplify "
        "the mesh");
    for (int64_t z = r[2].first; z <= r[2].second; ++z)
      bucket[static_cast<size_t>(z)].push_back(static_cast<int64_t>(i));
  }
  parallel_for(0, res, 1, [&](int64_t zb, int64_t ze) {
    for (int64_t z = zb; z < ze; ++z)
      for (int64_t i : bucket[static_cast<size_t>(z)]) {
        const Tri& t = tris[static_cast<size_t>(i)];
        const auto ry = cover(
            std::min({t[0][1], t[1][1], t[2][1]}),
            std::max({t[0][1], t[1][1], t[2][1]}), res);
        const auto rx = cover(
            std::min({t[0][0], t[1][0], t[2][0]}),
            std::max({t[0][0], t[1][0], t[2][0]}), res);
        for (int64_t y = ry.first; y <= ry.second; ++y)
          for (int64_t x = rx.first; x <= rx.second; ++x) {
            if (g.at(z, y, x))
              continue;
            const Vec3 c{
                static_cast<double>(x), static_cast<double>(y),
                static_cast<double>(z)};
            const Tri rel{sub(t[0], c), sub(t[1], c), sub(t[2], c)};
            if (triangle_box_overlap(rel, 0.5))
              g.set(z, y, x, true);
          }
      }
  });
}

// Everything the border reaches through non-surface voxels (6-connected) is
// outside; the rest is inside. Breadth-first with an explicit queue.
void fill_unreachable(VoxelGrid& g) {
  const int64_t d = g.depth, h = g.height, w = g.width;
  std::vector<uint8_t> outside(g.occupancy.size(), 0);
  std::vector<int64_t> queue;
  auto push = [&](int64_t z, int64_t y, int64_t x) {
    const int64_t i = g.index(z, y, x);
    if (!g.occupancy[static_cast<size_t>(i)] &&
        !outside[static_cast<size_t>(i)]) {
      outside[static_cast<size_t>(i)] = 1;
      queue.push_back(i);
    }
  };
  for (int64_t z = 0; z < d; ++z)
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < w; ++x)
        if (z == 0 || y == 0 || x == 0 || z == d - 1 || y == h - 1 ||
            x == w - 1)
          push(z, y, x);
  for (size_t q = 0; q < queue.size(); ++q) {
    const int64_t i = queue[q];
    const int64_t x = i % w, y = (i / w) % h, z = i / (w * h);
    if (x > 0)
      push(z, y, x - 1);
    if (x + 1 < w)
      push(z, y, x + 1);
    if (y > 0)
      push(z, y - 1, x);
    if (y + 1 < h)
      push(z, y + 1, x);
    if (z > 0)
      push(z - 1, y, x);
    if (z + 1 < d)
      push(z + 1, y, x);
  }
  for (size_t i = 0; i < outside.size(); ++i)
    if (!outside[i])
      g.occupancy[i] = 1;
}

// |w| >= 1/2 at every voxel centre, in world units; parallel over z slices.
void fill_winding(const TriangleMesh& mesh, VoxelGrid& g) {
  const WindingNumber wn(mesh);
  const int64_t res = g.depth;
  const double step = 2.0 / static_cast<double>(res);
  auto centre = [&](int64_t i) {
    return -1 + (static_cast<double>(i) + 0.5) * step;
  };
  parallel_for(0, res, 1, [&](int64_t zb, int64_t ze) {
    for (int64_t z = zb; z < ze; ++z)
      for (int64_t y = 0; y < res; ++y)
        for (int64_t x = 0; x < res; ++x)
          if (!g.at(z, y, x) &&
              std::abs(wn({centre(x), centre(y), centre(z)})) >= 0.5)
            g.set(z, y, x, true);
  });
}

}  // namespace

VoxelGrid voxelize(const TriangleMesh& mesh, const VoxelizeOptions& options) {
  const int64_t res = options.resolution;
  VOXGRAD_CHECK(
      res >= 1 && res <= kMaxGridExtent, "voxelize: resolution must be in [1, ",
      kMaxGridExtent, "] (got ", res, ")");
  check_mesh(mesh, "voxelize");
  for (const auto& t : mesh.triangles)
    for (int64_t k : t)
      for (double c : mesh.vertices[static_cast<size_t>(k)])
        VOXGRAD_CHECK(
            std::abs(c) <= 1e6, "voxelize: vertex ", k, " has coordinate ", c,
            ", beyond +-1e6; the grid spans [-1, 1]^3 (normalise the mesh "
            "first: voxgrad::data::normalized)");
  VoxelGrid g(res, res, res);
  mark_surface(to_grid_units(mesh, res), g);
  if (options.mode == VoxelizeMode::Solid) {
    if (options.solid == SolidMethod::FloodFill)
      fill_unreachable(g);
    else
      fill_winding(mesh, g);
  }
  return g;
}

VoxelizeMode parse_voxelize_mode(const std::string& text) {
  if (text == "solid")
    return VoxelizeMode::Solid;
  if (text == "surface")
    return VoxelizeMode::Surface;
  VOXGRAD_FAIL(
      "voxelisation mode must be \"solid\" or \"surface\" (got \"", text,
      "\")");
}

const char* to_string(VoxelizeMode mode) {
  return mode == VoxelizeMode::Solid ? "solid" : "surface";
}

SolidMethod parse_solid_method(const std::string& text) {
  if (text == "flood")
    return SolidMethod::FloodFill;
  if (text == "winding")
    return SolidMethod::WindingNumber;
  VOXGRAD_FAIL(
      "solid fill method must be \"flood\" or \"winding\" (got \"", text,
      "\")");
}

const char* to_string(SolidMethod method) {
  return method == SolidMethod::FloodFill ? "flood" : "winding";
}

}  // namespace voxgrad::data
