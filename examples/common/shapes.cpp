#include "shapes.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <sstream>

#include "voxgrad/core/error.hpp"
#include "voxgrad/core/random.hpp"

namespace voxgrad::examples {
namespace {

// Each shape owns a block of counters of the Philox stream keyed by
// (seed, split): shape i reads counters [i * kDrawsPerShape, ...). So shapes
// are independent of each other and of the order they are asked for, which
// is what lets a shuffled, sharded or resumed run see the very same data.
constexpr uint64_t kDrawsPerShape = 64;

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

class Stream {
 public:
  Stream(uint64_t key, uint64_t first) : key_(key), counter_(first) {}
  double uniform(double lo, double hi) {
    VOXGRAD_ASSERT(used_ < kDrawsPerShape);
    ++used_;
    return lo + (hi - lo) * detail::uniform01(counter_++, key_);
  }

 private:
  uint64_t key_, counter_, used_ = 0;
};

// Shoemake's uniform random rotation from three uniforms (a unit
// quaternion), as a row-major matrix.
std::array<double, 9> random_rotation(Stream& s) {
  const double u1 = s.uniform(0, 1), u2 = s.uniform(0, 1), u3 = s.uniform(0, 1);
  const double two_pi = 2 * std::numbers::pi;
  const double a = std::sqrt(1 - u1), b = std::sqrt(u1);
  const double x = a * std::sin(two_pi * u2), y = a * std::cos(two_pi * u2);
  const double z = b * std::sin(two_pi * u3), w = b * std::cos(two_pi * u3);
  return {1 - 2 * (y * y + z * z), 2 * (x * y - z * w),
          2 * (x * z + y * w),     2 * (x * y + z * w),
          1 - 2 * (x * x + z * z), 2 * (y * z - x * w),
          2 * (x * z - y * w),     2 * (y * z + x * w),
          1 - 2 * (x * x + y * y)};
}

// Sizes in the unit cube (a 32^3 voxel is 0.0625 wide): thin parts stay at
// least ~5 voxels thick so that a 32^3 grid can represent them. `scale`
// shrinks the parts of a union so the pair still fits.
Primitive random_primitive(Stream& s, ShapeKind kind, double scale) {
  Primitive p;
  p.kind = kind;
  p.rotation = random_rotation(s);
  switch (kind) {
    case ShapeKind::Sphere:
      p.size = {scale * s.uniform(0.4, 0.8), 0, 0};
      break;
    case ShapeKind::Box:
      for (double& e : p.size)
        e = scale * s.uniform(0.3, 0.62);
      break;
    case ShapeKind::Torus:
      p.size = {scale * s.uniform(0.42, 0.6), scale * s.uniform(0.17, 0.27), 0};
      break;
    case ShapeKind::Cylinder:
      p.size = {scale * s.uniform(0.28, 0.6), scale * s.uniform(0.28, 0.65), 0};
      break;
    case ShapeKind::Capsule:
      p.size = {scale * s.uniform(0.22, 0.42), scale * s.uniform(0.2, 0.45), 0};
      break;
    case ShapeKind::Union:
      VOXGRAD_ASSERT(false);
  }
  return p;
}

ShapeKind random_kind(Stream& s, int count) {
  const int k = static_cast<int>(s.uniform(0, count));
  return static_cast<ShapeKind>(std::min(k, count - 1));
}

// Plain square roots, not std::hypot: coordinates are O(1), so nothing can
// overflow, and hypot's care costs ~4% of a training step (perf).
double length2(double x, double y) {
  return std::sqrt(x * x + y * y);
}

double length3(double x, double y, double z) {
  return std::sqrt(x * x + y * y + z * z);
}

double primitive_distance(const Primitive& pr, const std::array<double, 3>& p) {
  const double dx = p[0] - pr.center[0], dy = p[1] - pr.center[1],
               dz = p[2] - pr.center[2];
  const auto& r = pr.rotation;
  const double x = r[0] * dx + r[1] * dy + r[2] * dz;
  const double y = r[3] * dx + r[4] * dy + r[5] * dz;
  const double z = r[6] * dx + r[7] * dy + r[8] * dz;
  const auto& s = pr.size;
  switch (pr.kind) {
    case ShapeKind::Sphere:
      return length3(x, y, z) - s[0];
    case ShapeKind::Box: {
      const double qx = std::abs(x) - s[0], qy = std::abs(y) - s[1],
                   qz = std::abs(z) - s[2];
      return length3(std::max(qx, 0.0), std::max(qy, 0.0), std::max(qz, 0.0)) +
             std::min(std::max({qx, qy, qz}), 0.0);
    }
    case ShapeKind::Torus:
      return length2(length2(x, y) - s[0], z) - s[1];
    case ShapeKind::Cylinder: {
      const double a = length2(x, y) - s[0], b = std::abs(z) - s[1];
      return std::min(std::max(a, b), 0.0) +
             length2(std::max(a, 0.0), std::max(b, 0.0));
    }
    case ShapeKind::Capsule:
      return length3(x, y, z - std::clamp(z, -s[1], s[1])) - s[0];
    case ShapeKind::Union:
      break;
  }
  VOXGRAD_ASSERT(false);
  return 0;
}

}  // namespace

const char* shape_kind_name(ShapeKind kind) {
  static const char* names[] = {"sphere",   "box",     "torus",
                                "cylinder", "capsule", "union"};
  return names[static_cast<int>(kind)];
}

const char* split_name(Split split) {
  return split == Split::Train ? "train" : "test";
}

ShapeSpec sample_shape(uint64_t seed, Split split, int64_t index) {
  VOXGRAD_CHECK(
      index >= 0, "sample_shape: index must be >= 0 (got ", index, ")");
  const uint64_t key = splitmix64(
      splitmix64(seed) ^
      (split == Split::Train ? 0x7261696EULL : 0x74657374ULL));
  Stream s(key, static_cast<uint64_t>(index) * kDrawsPerShape);
  ShapeSpec shape;
  shape.kind = random_kind(s, kNumShapeKinds);
  if (shape.kind != ShapeKind::Union) {
    Primitive p = random_primitive(s, shape.kind, 1.0);
    for (double& c : p.center)
      c = s.uniform(-0.15, 0.15);
    shape.parts.push_back(p);
    return shape;
  }
  // Two parts placed symmetrically about a random point, along a random
  // direction, close enough to overlap or touch most of the time.
  std::array<double, 3> mid{}, dir{};
  for (double& c : mid)
    c = s.uniform(-0.1, 0.1);
  const double phi = s.uniform(0, 2 * std::numbers::pi);
  const double cos_t = s.uniform(-1, 1), sin_t = std::sqrt(1 - cos_t * cos_t);
  dir = {sin_t * std::cos(phi), sin_t * std::sin(phi), cos_t};
  const double half_gap = s.uniform(0.2, 0.38);
  for (int i = 0; i < 2; ++i) {
    Primitive p = random_primitive(s, random_kind(s, kNumShapeKinds - 1), 0.75);
    const double sign = i == 0 ? -1 : 1;
    for (int a = 0; a < 3; ++a)
      p.center[a] = mid[a] + sign * half_gap * dir[a];
    shape.parts.push_back(p);
  }
  return shape;
}

double signed_distance(const ShapeSpec& shape, const std::array<double, 3>& p) {
  double d = INFINITY;
  for (const Primitive& part : shape.parts)
    d = std::min(d, primitive_distance(part, p));
  return d;
}

void voxelize(const ShapeSpec& shape, int64_t res, float* out) {
  VOXGRAD_CHECK(res >= 1, "voxelize: res must be >= 1 (got ", res, ")");
  const double h = 2.0 / static_cast<double>(res);
  for (int64_t z = 0; z < res; ++z)
    for (int64_t y = 0; y < res; ++y)
      for (int64_t x = 0; x < res; ++x) {
        const std::array<double, 3> p{
            -1 + (static_cast<double>(x) + 0.5) * h,
            -1 + (static_cast<double>(y) + 0.5) * h,
            -1 + (static_cast<double>(z) + 0.5) * h};
        out[(z * res + y) * res + x] =
            signed_distance(shape, p) <= 0 ? 1.0f : 0.0f;
      }
}

std::string describe(const ShapeSpec& shape) {
  std::ostringstream os;
  os.precision(2);
  os << std::fixed << shape_kind_name(shape.kind);
  for (const Primitive& p : shape.parts) {
    if (shape.kind == ShapeKind::Union)
      os << " [" << shape_kind_name(p.kind);
    os << " size (" << p.size[0] << ", " << p.size[1] << ", " << p.size[2]
       << ") at (" << p.center[0] << ", " << p.center[1] << ", " << p.center[2]
       << ")";
    if (shape.kind == ShapeKind::Union)
      os << "]";
  }
  return os.str();
}

}  // namespace voxgrad::examples
