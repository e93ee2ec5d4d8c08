#include "mesh.hpp"

#include <sstream>

#include "voxgrad/core/error.hpp"

namespace voxgrad::examples {

Mesh surface_nets(const float* volume, int64_t res, double threshold) {
  VOXGRAD_CHECK(res >= 1, "surface_nets: res must be >= 1 (got ", res, ")");
  // Grid points are voxel centres, indexed -1 .. res (the outer ring is the
  // implicit empty border); cell c spans points c .. c + 1, c in -1 .. res-1.
  const int64_t nc = res + 1;
  auto value = [&](int64_t x, int64_t y, int64_t z) -> double {
    if (x < 0 || y < 0 || z < 0 || x >= res || y >= res || z >= res)
      return 0;
    return volume[(z * res + y) * res + x];
  };
  auto cell_id = [&](int64_t x, int64_t y, int64_t z) {
    return ((z + 1) * nc + (y + 1)) * nc + (x + 1);
  };
  constexpr uint32_t kNone = 0xFFFFFFFFu;
  std::vector<uint32_t> cell_vertex(static_cast<size_t>(nc * nc * nc), kNone);
  Mesh mesh;
  const double scale = 2.0 / static_cast<double>(res);
  for (int64_t z = -1; z < res; ++z)
    for (int64_t y = -1; y < res; ++y)
      for (int64_t x = -1; x < res; ++x) {
        double v[8];
        int inside = 0;
        for (int c = 0; c < 8; ++c) {
          v[c] = value(x + (c & 1), y + ((c >> 1) & 1), z + ((c >> 2) & 1));
          inside += v[c] >= threshold;
        }
        if (inside == 0 || inside == 8)
          continue;
        // Mean of the crossings on the cell's 12 edges (corner pairs that
        // differ in one bit).
        double acc[3] = {0, 0, 0};
        int count = 0;
        for (int a = 0; a < 8; ++a)
          for (int bit = 1; bit < 8; bit <<= 1) {
            const int b = a | bit;
            if (b == a || (v[a] >= threshold) == (v[b] >= threshold))
              continue;
            const double t = (threshold - v[a]) / (v[b] - v[a]);
            for (int axis = 0; axis < 3; ++axis) {
              const double pa = (a >> axis) & 1, pb = (b >> axis) & 1;
              acc[axis] += pa + t * (pb - pa);
            }
            ++count;
          }
        const double base[3] = {
            static_cast<double>(x), static_cast<double>(y),
            static_cast<double>(z)};
        std::array<float, 3> p{};
        for (int axis = 0; axis < 3; ++axis)
          p[static_cast<size_t>(axis)] = static_cast<float>(
              (base[axis] + acc[axis] / count + 0.5) * scale - 1);
        cell_vertex[static_cast<size_t>(cell_id(x, y, z))] =
            static_cast<uint32_t>(mesh.vertices.size());
        mesh.vertices.push_back(p);
      }
  // One quad per crossed grid edge. For an edge along `axis` the four cells
  // around it vary in the other two axes (u, v) with u x v = axis, listed
  // counter-clockwise; an edge leaving the solid faces +axis.
  for (int64_t z = 0; z < res + 1; ++z)
    for (int64_t y = 0; y < res + 1; ++y)
      for (int64_t x = 0; x < res + 1; ++x)
        for (int axis = 0; axis < 3; ++axis) {
          const int64_t p0[3] = {x - 1, y - 1, z - 1};
          int64_t p1[3] = {p0[0], p0[1], p0[2]};
          p1[axis] += 1;
          const int u = (axis + 1) % 3, w = (axis + 2) % 3;
          // The edge's cells reach one below in u and w: needs index >= 0.
          if (p0[u] < 0 || p0[w] < 0)
            continue;
          const bool in0 = value(p0[0], p0[1], p0[2]) >= threshold;
          const bool in1 = value(p1[0], p1[1], p1[2]) >= threshold;
          if (in0 == in1)
            continue;
          std::array<uint32_t, 4> q{};
          const int64_t du[4] = {-1, 0, 0, -1}, dw[4] = {-1, -1, 0, 0};
          for (int k = 0; k < 4; ++k) {
            int64_t c[3] = {p0[0], p0[1], p0[2]};
            c[u] += du[k];
            c[w] += dw[k];
            q[static_cast<size_t>(k)] =
                cell_vertex[static_cast<size_t>(cell_id(c[0], c[1], c[2]))];
            VOXGRAD_ASSERT(q[static_cast<size_t>(k)] != kNone);
          }
          if (!in0)
            std::swap(q[1], q[3]);
          mesh.quads.push_back(q);
        }
  return mesh;
}

std::string to_obj(const Mesh& mesh, const std::string& comment) {
  std::ostringstream os;
  os << "# " << comment << "\n# " << mesh.vertices.size() << " vertices, "
     << mesh.quads.size() << " quads\n";
  os.precision(5);
  for (const auto& v : mesh.vertices)
    os << "v " << v[0] << ' ' << v[1] << ' ' << v[2] << '\n';
  for (const auto& q : mesh.quads)
    os << "f " << q[0] + 1 << ' ' << q[1] + 1 << ' ' << q[2] + 1 << ' '
       << q[3] + 1 << '\n';
  return os.str();
}

}  // namespace voxgrad::examples
