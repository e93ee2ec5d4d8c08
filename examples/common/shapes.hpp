#pragma once
// Procedural solid shapes for the voxel examples: spheres, boxes, tori,
// cylinders, capsules and unions of two of them, each at a random size,
// position and rotation. A shape is a handful of numbers (ShapeSpec) drawn
// from a counter-based stream, so shape i of a split is the same on every
// machine, thread count and call order; the voxels are its signed distance
// function sampled at voxel centres.

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace voxgrad::examples {

enum class ShapeKind { Sphere, Box, Torus, Cylinder, Capsule, Union };
inline constexpr int kNumShapeKinds = 6;

/// "sphere", "box", "torus", "cylinder", "capsule", "union".
const char* shape_kind_name(ShapeKind kind);

/// Which half of a data set: the shapes trained on, or the held-out ones.
enum class Split { Train, Test };
const char* split_name(Split split);

/// One primitive in the unit cube [-1, 1]^3 (the grid spans it).
struct Primitive {
  ShapeKind kind = ShapeKind::Sphere;  // never Union
  std::array<double, 3> center{};
  /// Row-major rotation from world to local coordinates.
  std::array<double, 9> rotation{1, 0, 0, 0, 1, 0, 0, 0, 1};
  /// Meaning per kind (local axis z is the symmetry axis):
  ///   sphere: radius | box: half extents x, y, z | torus: major, minor radius
  ///   cylinder: radius, half height | capsule: radius, half segment length
  std::array<double, 3> size{};
};

/// A shape: one primitive, or the union of two (kind == Union).
struct ShapeSpec {
  ShapeKind kind = ShapeKind::Sphere;
  std::vector<Primitive> parts;
};

/// Shape `index` of `split` for data-set seed `seed`. Pure: no state.
ShapeSpec sample_shape(uint64_t seed, Split split, int64_t index);

/// Signed distance (negative inside) at point p in [-1, 1]^3.
double signed_distance(const ShapeSpec& shape, const std::array<double, 3>& p);

/// Occupancy 0/1 at the centres of a res^3 grid over [-1, 1]^3, written
/// z-major (index (z * res + y) * res + x) to `out[0 .. res^3)`.
void voxelize(const ShapeSpec& shape, int64_t res, float* out);

/// One-line description, e.g. "torus R=0.52 r=0.17 at (0.1, -0.2, 0.0)".
std::string describe(const ShapeSpec& shape);

}  // namespace voxgrad::examples
