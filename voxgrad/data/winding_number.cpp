#include "voxgrad/data/winding_number.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "voxgrad/core/error.hpp"

namespace voxgrad::data {
namespace {

Vec3 sub(const Vec3& a, const Vec3& b) {
  return {a[0] - b[0], a[1] - b[1], a[2] - b[2]};
}
double dot(const Vec3& a, const Vec3& b) {
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}
Vec3 cross(const Vec3& a, const Vec3& b) {
  return {
      a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2],
      a[0] * b[1] - a[1] * b[0]};
}
double norm(const Vec3& a) {
  return std::sqrt(dot(a, a));
}

constexpr int64_t kLeafSize = 8;
// A cluster counts as far when p is beyond kBeta of its radius (Barill et
// al. use 2; the first-order term's error then stays well under 1e-2).
constexpr double kBeta = 2.0;

}  // namespace

WindingNumber::WindingNumber(const TriangleMesh& mesh) {
  check_mesh(mesh, "WindingNumber");
  tris_.reserve(mesh.triangles.size());
  for (const auto& t : mesh.triangles)
    tris_.push_back(
        {mesh.vertices[static_cast<size_t>(t[0])],
         mesh.vertices[static_cast<size_t>(t[1])],
         mesh.vertices[static_cast<size_t>(t[2])]});
  order_.resize(tris_.size());
  for (size_t i = 0; i < order_.size(); ++i)
    order_[i] = static_cast<int64_t>(i);
  nodes_.reserve(2 * tris_.size() / kLeafSize + 2);
  build(0, static_cast<int64_t>(tris_.size()));
}

// Median split along the longest axis of the triangle centroids' box; an
// explicit recursion of depth log2(triangles / kLeafSize), so shallow.
int64_t WindingNumber::build(int64_t first, int64_t count) {
  const auto id = static_cast<int64_t>(nodes_.size());
  nodes_.emplace_back();
  Node n;
  n.first = first;
  n.count = count;
  // Area-weighted centroid and summed area vectors (the dipole moment).
  double area = 0;
  Vec3 lo{HUGE_VAL, HUGE_VAL, HUGE_VAL}, hi{-HUGE_VAL, -HUGE_VAL, -HUGE_VAL};
  Vec3 mean{};
  for (int64_t i = first; i < first + count; ++i) {
    const auto& t = tris_[static_cast<size_t>(order_[static_cast<size_t>(i)])];
    const Vec3 av = cross(sub(t[1], t[0]), sub(t[2], t[0]));
    const double a = norm(av) / 2;
    for (int k = 0; k < 3; ++k) {
      const double c = (t[0][k] + t[1][k] + t[2][k]) / 3;
      n.area_vector[k] += av[k] / 2;
      n.centroid[k] += a * c;
      mean[k] += c;
      lo[k] = std::min(lo[k], c);
      hi[k] = std::max(hi[k], c);
    }
    area += a;
  }
  for (int k = 0; k < 3; ++k)
    n.centroid[k] =
        area > 0 ? n.centroid[k] / area : mean[k] / static_cast<double>(count);
  for (int64_t i = first; i < first + count; ++i)
    for (const Vec3& v :
         tris_[static_cast<size_t>(order_[static_cast<size_t>(i)])])
      n.radius = std::max(n.radius, norm(sub(v, n.centroid)));
  if (count > kLeafSize) {
    int axis = 0;
    for (int k = 1; k < 3; ++k)
      if (hi[k] - lo[k] > hi[axis] - lo[axis])
        axis = k;
    const auto key = [&](int64_t t) {
      const auto& tr = tris_[static_cast<size_t>(t)];
      return tr[0][axis] + tr[1][axis] + tr[2][axis];
    };
    const int64_t half = count / 2;
    std::nth_element(
        order_.begin() + first, order_.begin() + first + half,
        order_.begin() + first + count, [&](int64_t a, int64_t b) {
          return key(a) < key(b) || (key(a) == key(b) && a < b);
        });
    n.left = build(first, half);
    n.right = build(first + half, count - half);
  }
  nodes_[static_cast<size_t>(id)] = n;
  return id;
}

double WindingNumber::solid_angle(int64_t t, const Vec3& p) const {
  const auto& tr = tris_[static_cast<size_t>(t)];
  const Vec3 a = sub(tr[0], p), b = sub(tr[1], p), c = sub(tr[2], p);
  const double la = norm(a), lb = norm(b), lc = norm(c);
  const double num = dot(a, cross(b, c));
  const double den =
      la * lb * lc + dot(a, b) * lc + dot(b, c) * la + dot(c, a) * lb;
  // p on the triangle's plane and inside it: atan2(0, negative) is pi, a
  // half turn either way; the limit from both sides averages to 0.
  if (num == 0)
    return 0;
  return 2 * std::atan2(num, den);
}

double WindingNumber::exact(const Vec3& p) const {
  double w = 0;
  for (size_t t = 0; t < tris_.size(); ++t)
    w += solid_angle(static_cast<int64_t>(t), p);
  return w / (4 * std::numbers::pi);
}

double WindingNumber::operator()(const Vec3& p) const {
  double w = 0;
  int64_t stack[128];
  int depth = 0;
  stack[depth++] = 0;
  while (depth > 0) {
    const Node& n = nodes_[static_cast<size_t>(stack[--depth])];
    const Vec3 d = sub(n.centroid, p);
    const double dist = norm(d);
    if (dist > kBeta * n.radius) {
      w += dot(n.area_vector, d) / (dist * dist * dist);
    } else if (n.left < 0) {
      for (int64_t i = n.first; i < n.first + n.count; ++i)
        w += solid_angle(order_[static_cast<size_t>(i)], p);
    } else {
      VOXGRAD_ASSERT(depth + 2 <= 128);
      stack[depth++] = n.left;
      stack[depth++] = n.right;
    }
  }
  return w / (4 * std::numbers::pi);
}

}  // namespace voxgrad::data
