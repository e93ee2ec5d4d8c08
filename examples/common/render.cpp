#include "render.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>
#include <vector>

#include "voxgrad/core/error.hpp"

namespace voxgrad::examples {
namespace {

using Vec3 = std::array<double, 3>;

Vec3 operator+(Vec3 a, Vec3 b) {
  return {a[0] + b[0], a[1] + b[1], a[2] + b[2]};
}
Vec3 operator*(double s, Vec3 a) {
  return {s * a[0], s * a[1], s * a[2]};
}
double dot(Vec3 a, Vec3 b) {
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}
Vec3 cross(Vec3 a, Vec3 b) {
  return {
      a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2],
      a[0] * b[1] - a[1] * b[0]};
}
Vec3 normalized(Vec3 a) {
  const double n = std::sqrt(dot(a, a));
  return n > 0 ? (1 / n) * a : Vec3{0, 0, 1};
}

// Trilinear interpolation in voxel units: voxel (x, y, z) holds the value at
// point (x + 0.5, y + 0.5, z + 0.5); outside the grid the volume is empty.
class Field {
 public:
  Field(const float* v, int64_t res) : v_(v), res_(res) {}
  double at(int64_t x, int64_t y, int64_t z) const {
    if (x < 0 || y < 0 || z < 0 || x >= res_ || y >= res_ || z >= res_)
      return 0;
    return v_[(z * res_ + y) * res_ + x];
  }
  double sample(Vec3 p) const {
    const double fx = p[0] - 0.5, fy = p[1] - 0.5, fz = p[2] - 0.5;
    const auto x0 = static_cast<int64_t>(std::floor(fx));
    const auto y0 = static_cast<int64_t>(std::floor(fy));
    const auto z0 = static_cast<int64_t>(std::floor(fz));
    const double tx = fx - static_cast<double>(x0),
                 ty = fy - static_cast<double>(y0),
                 tz = fz - static_cast<double>(z0);
    double acc = 0;
    for (int dz = 0; dz < 2; ++dz)
      for (int dy = 0; dy < 2; ++dy)
        for (int dx = 0; dx < 2; ++dx)
          acc += (dx ? tx : 1 - tx) * (dy ? ty : 1 - ty) * (dz ? tz : 1 - tz) *
                 at(x0 + dx, y0 + dy, z0 + dz);
    return acc;
  }
  Vec3 gradient(Vec3 p) const {
    const double h = 1.5;
    return {
        sample(p + Vec3{h, 0, 0}) - sample(p + Vec3{-h, 0, 0}),
        sample(p + Vec3{0, h, 0}) - sample(p + Vec3{0, -h, 0}),
        sample(p + Vec3{0, 0, h}) - sample(p + Vec3{0, 0, -h})};
  }

 private:
  const float* v_;
  int64_t res_;
};

uint8_t to_byte(double v) {
  return static_cast<uint8_t>(std::clamp(v, 0.0, 255.0) + 0.5);
}

}  // namespace

Image volume_slice(const float* volume, int64_t res, int64_t z, int scale) {
  VOXGRAD_CHECK(
      z >= 0 && z < res, "volume_slice: z must be in [0, ", res, ") (got ", z,
      ")");
  const int r = static_cast<int>(res);
  Image img(r, r);
  for (int y = 0; y < r; ++y)
    for (int x = 0; x < r; ++x) {
      const double v = std::clamp(
          static_cast<double>(volume[(z * res + y) * res + x]), 0.0, 1.0);
      const uint8_t g = to_byte(255 * (1 - v));
      // Image rows go down, the volume's y goes up.
      img.set(x, r - 1 - y, {g, g, g});
    }
  return img.scaled(scale);
}

Image shaded_projection(
    const float* volume, int64_t res, const View& view, double threshold) {
  const Field field(volume, res);
  const double pi = std::numbers::pi;
  const double az = view.azimuth_deg * pi / 180,
               el = view.elevation_deg * pi / 180;
  // Camera basis, z up: `fwd` points from the eye into the scene.
  const Vec3 fwd = normalized(
      {-std::cos(el) * std::cos(az), -std::cos(el) * std::sin(az),
       -std::sin(el)});
  const Vec3 right = normalized(cross(fwd, {0, 0, 1}));
  const Vec3 up = cross(right, fwd);
  const Vec3 light = normalized((-1.0) * fwd + 0.6 * up + (-0.4) * right);
  const double r = static_cast<double>(res);
  const Vec3 center{r / 2, r / 2, r / 2};
  // The picture spans 1.25 cube widths (shapes keep clear of the corners);
  // rays cross the cube's bounding sphere.
  const double extent = r * std::sqrt(3.0), frame = 1.25 * r, step = 0.4;
  Image img(view.size, view.size, view.background);
  for (int j = 0; j < view.size; ++j)
    for (int i = 0; i < view.size; ++i) {
      const double s = ((i + 0.5) / view.size - 0.5) * frame;
      const double t = (0.5 - (j + 0.5) / view.size) * frame;
      const Vec3 origin = center + s * right + t * up + (-extent / 2) * fwd;
      double prev = 0;
      for (double d = 0; d <= extent; d += step) {
        const Vec3 p = origin + d * fwd;
        const double v = field.sample(p);
        if (v >= threshold) {
          // Linear refinement of the crossing between the last two samples.
          const double back = step * (v - threshold) / std::max(v - prev, 1e-9);
          const Vec3 hit = p + (-back) * fwd;
          const Vec3 n = normalized((-1.0) * field.gradient(hit));
          const double diffuse = std::max(0.0, dot(n, light));
          const double shade = 0.28 + 0.72 * diffuse;
          const double spec = std::pow(
              std::max(0.0, dot(n, normalized(light + (-1.0) * fwd))), 24);
          img.set(
              i, j,
              {to_byte(view.color.r * shade + 90 * spec),
               to_byte(view.color.g * shade + 90 * spec),
               to_byte(view.color.b * shade + 90 * spec)});
          break;
        }
        prev = v;
      }
    }
  return img;
}

Image volume_grid(const Tensor& volumes, int columns, const View& view) {
  VOXGRAD_CHECK(
      volumes.dim() == 5 && volumes.size(1) == 1 && volumes.size(0) >= 1,
      "volume_grid: volumes must be (N, 1, R, R, R) with N >= 1 (got ",
      shape_str(volumes.shape()), ")");
  const Tensor v = volumes.contiguous();
  const int64_t n = v.size(0), res = v.size(2), vox = res * res * res;
  const int scale = std::max(1, view.size / static_cast<int>(res));
  std::vector<Image> tiles;
  for (int64_t row = 0; row < n; row += columns)
    for (int pass = 0; pass < 2; ++pass)
      for (int64_t i = row; i < row + columns; ++i) {
        if (i >= n) {
          tiles.emplace_back(view.size, view.size);
          continue;
        }
        const float* p = v.data<float>() + i * vox;
        tiles.push_back(
            pass == 0 ? shaded_projection(p, res, view)
                      : volume_slice(p, res, res / 2, scale));
      }
  // Slices are res * scale wide; pad them to the tile size if it differs.
  for (Image& t : tiles)
    if (t.width() != view.size) {
      Image padded(view.size, view.size);
      padded.paste(
          t, (view.size - t.width()) / 2, (view.size - t.height()) / 2);
      t = padded;
    }
  return tile_grid(tiles, columns, 4);
}

}  // namespace voxgrad::examples
