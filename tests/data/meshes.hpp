#pragma once
// Meshes with known volumes for the data tests, and helpers to write them
// as files and to make scratch folders.

#include <cmath>
#include <filesystem>
#include <fstream>
#include <numbers>
#include <string>

#include "voxgrad/data/mesh.hpp"

namespace voxgrad::test {

using data::TriangleMesh;
using data::Vec3;

/// The box [lo, hi], 12 triangles wound counter-clockwise seen from outside.
inline TriangleMesh box_mesh(Vec3 lo, Vec3 hi) {
  TriangleMesh m;
  for (int i = 0; i < 8; ++i)
    m.vertices.push_back(
        {i & 1 ? hi[0] : lo[0], i & 2 ? hi[1] : lo[1], i & 4 ? hi[2] : lo[2]});
  // Faces as quads (outward normals), split in two triangles each.
  const int q[6][4] = {{0, 2, 3, 1}, {4, 5, 7, 6}, {0, 1, 5, 4},
                       {2, 6, 7, 3}, {0, 4, 6, 2}, {1, 3, 7, 5}};
  for (const auto& f : q) {
    m.triangles.push_back({f[0], f[1], f[2]});
    m.triangles.push_back({f[0], f[2], f[3]});
  }
  return m;
}

/// A UV sphere of radius r at c, outward-wound, closed.
inline TriangleMesh sphere_mesh(double r, Vec3 c = {0, 0, 0}, int n = 24) {
  TriangleMesh m;
  const double pi = std::numbers::pi;
  m.vertices.push_back({c[0], c[1], c[2] - r});  // south pole 0
  for (int i = 1; i < n; ++i)
    for (int j = 0; j < 2 * n; ++j) {
      const double th = pi * i / n - pi / 2, ph = pi * j / n;
      m.vertices.push_back(
          {c[0] + r * std::cos(th) * std::cos(ph),
           c[1] + r * std::cos(th) * std::sin(ph), c[2] + r * std::sin(th)});
    }
  m.vertices.push_back({c[0], c[1], c[2] + r});  // north pole
  const int64_t north = static_cast<int64_t>(m.vertices.size()) - 1;
  auto at = [&](int i, int j) -> int64_t {
    return 1 + (i - 1) * 2 * n + (j % (2 * n));
  };
  for (int j = 0; j < 2 * n; ++j) {
    m.triangles.push_back({0, at(1, j + 1), at(1, j)});
    m.triangles.push_back({north, at(n - 1, j), at(n - 1, j + 1)});
  }
  for (int i = 1; i < n - 1; ++i)
    for (int j = 0; j < 2 * n; ++j) {
      m.triangles.push_back({at(i, j), at(i, j + 1), at(i + 1, j + 1)});
      m.triangles.push_back({at(i, j), at(i + 1, j + 1), at(i + 1, j)});
    }
  return m;
}

/// The mesh as OFF text (optionally with ModelNet's defect: the counts on
/// the "OFF" line itself, e.g. "OFF8 12 0").
inline std::string off_text(
    const TriangleMesh& m, bool modelnet_defect = false) {
  std::string s = modelnet_defect ? "OFF" : "OFF\n";
  s += std::to_string(m.vertices.size()) + " " +
       std::to_string(m.triangles.size()) + " 0\n";
  for (const Vec3& v : m.vertices)
    s += std::to_string(v[0]) + " " + std::to_string(v[1]) + " " +
         std::to_string(v[2]) + "\n";
  for (const auto& t : m.triangles)
    s += "3 " + std::to_string(t[0]) + " " + std::to_string(t[1]) + " " +
         std::to_string(t[2]) + "\n";
  return s;
}

inline void write_text(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(
      std::filesystem::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

/// A fresh, empty scratch folder under the build tree's working directory.
inline std::string scratch_dir(const std::string& name) {
  const std::string dir = "data_test_scratch/" + name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

/// Voxels whose centre lies strictly inside the box [lo, hi] on a res^3 grid
/// over [-1, 1]^3.
inline int64_t centres_inside_box(double lo, double hi, int64_t res) {
  int64_t n = 0;
  for (int64_t i = 0; i < res; ++i) {
    const double c =
        -1 + (static_cast<double>(i) + 0.5) * 2 / static_cast<double>(res);
    n += (c > lo && c < hi) ? 1 : 0;
  }
  return n * n * n;
}

}  // namespace voxgrad::test
