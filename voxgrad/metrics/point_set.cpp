#include "voxgrad/metrics/point_set.hpp"

#include <nanoflann.hpp>

#include <cmath>
#include <limits>

#include "voxgrad/core/error.hpp"
#include "voxgrad/core/parallel.hpp"
#include "voxgrad/core/random.hpp"

namespace voxgrad::metrics {
namespace {

// One boundary face: the voxel and the direction (0..5: -x +x -y +y -z +z).
struct Face {
  int64_t x, y, z;
  int dir;
};

}  // namespace

PointSet surface_points(
    const float* v,
    int64_t d,
    int64_t h,
    int64_t w,
    int64_t n,
    double threshold,
    uint64_t seed) {
  VOXGRAD_CHECK(
      d >= 1 && h >= 1 && w >= 1 && n >= 0,
      "surface_points: extents must be >= 1 and n >= 0 (got [", d, ", ", h,
      ", ", w, "], n ", n, ")");
  auto occ = [&](int64_t x, int64_t y, int64_t z) {
    if (x < 0 || y < 0 || z < 0 || x >= w || y >= h || z >= d)
      return false;
    const float value = v[(z * h + y) * w + x];
    VOXGRAD_CHECK(
        !std::isnan(value), "surface_points: voxel (x ", x, ", y ", y, ", z ",
        z, ") is NaN");
    return value > threshold;
  };
  std::vector<Face> faces;
  for (int64_t z = 0; z < d; ++z)
    for (int64_t y = 0; y < h; ++y)
      for (int64_t x = 0; x < w; ++x) {
        if (!occ(x, y, z))
          continue;
        const int64_t nb[6][3] = {{x - 1, y, z}, {x + 1, y, z}, {x, y - 1, z},
                                  {x, y + 1, z}, {x, y, z - 1}, {x, y, z + 1}};
        for (int k = 0; k < 6; ++k)
          if (!occ(nb[k][0], nb[k][1], nb[k][2]))
            faces.push_back({x, y, z, k});
      }
  PointSet out;
  if (faces.empty() || n == 0)
    return out;
  out.reserve(static_cast<size_t>(n));
  const double side = static_cast<double>(std::max({d, h, w}));
  const auto f = static_cast<double>(faces.size());
  for (int64_t i = 0; i < n; ++i) {
    const auto c = static_cast<uint64_t>(i) * 3;
    const double u0 = voxgrad::detail::uniform01(c, seed),
                 u1 = voxgrad::detail::uniform01(c + 1, seed),
                 u2 = voxgrad::detail::uniform01(c + 2, seed);
    const Face& fc =
        faces[std::min(faces.size() - 1, static_cast<size_t>(u0 * f))];
    const int axis = fc.dir / 2;  // 0 x, 1 y, 2 z: the face's normal axis
    double p[3] = {
        static_cast<double>(fc.x), static_cast<double>(fc.y),
        static_cast<double>(fc.z)};
    p[axis] += fc.dir % 2;  // the + face lies at the voxel's far side
    p[(axis + 1) % 3] += u1;
    p[(axis + 2) % 3] += u2;
    out.push_back(
        {static_cast<float>(p[0] / side - 0.5 * static_cast<double>(w) / side),
         static_cast<float>(p[1] / side - 0.5 * static_cast<double>(h) / side),
         static_cast<float>(
             p[2] / side - 0.5 * static_cast<double>(d) / side)});
  }
  return out;
}

std::vector<PointSet> surface_points(
    const Tensor& batch, int64_t n, double threshold, uint64_t seed) {
  VOXGRAD_CHECK(
      (batch.dim() == 5 && batch.size(1) == 1) || batch.dim() == 4,
      "surface_points: expected (N, 1, D, H, W) or (N, D, H, W), got ",
      shape_str(batch.shape()));
  const Tensor b = batch.to(kFloat32).contiguous();
  const int64_t a = b.dim() - 3;
  const int64_t d = b.size(a), h = b.size(a + 1), w = b.size(a + 2);
  const std::vector<float> values = b.to_vector<float>();
  std::vector<PointSet> out(static_cast<size_t>(b.size(0)));
  parallel_for(0, b.size(0), 1, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i)
      out[static_cast<size_t>(i)] = surface_points(
          values.data() + i * d * h * w, d, h, w, n, threshold,
          seed + static_cast<uint64_t>(i));
  });
  return out;
}

// nanoflann's dataset interface over a PointSet.
struct Cloud {
  PointSet pts;
  size_t kdtree_get_point_count() const {
    return pts.size();
  }
  float kdtree_get_pt(size_t i, size_t dim) const {
    return pts[i][dim];
  }
  template <class Box>
  bool kdtree_get_bbox(Box&) const {
    return false;
  }
};

using Tree = nanoflann::KDTreeSingleIndexAdaptor<
    nanoflann::L2_Simple_Adaptor<float, Cloud, double>,
    Cloud,
    3>;

struct NearestNeighbors::Impl {
  Cloud cloud;
  std::unique_ptr<Tree> tree;
};

NearestNeighbors::NearestNeighbors(PointSet points)
    : impl_(std::make_unique<Impl>()) {
  for (const Point& p : points)
    VOXGRAD_CHECK(
        std::isfinite(p[0]) && std::isfinite(p[1]) && std::isfinite(p[2]),
        "NearestNeighbors: point (", p[0], ", ", p[1], ", ", p[2],
        ") is not finite");
  impl_->cloud.pts = std::move(points);
  if (!impl_->cloud.pts.empty()) {
    impl_->tree = std::make_unique<Tree>(
        3, impl_->cloud, nanoflann::KDTreeSingleIndexAdaptorParams(10));
    impl_->tree->buildIndex();
  }
}

NearestNeighbors::~NearestNeighbors() = default;
NearestNeighbors::NearestNeighbors(NearestNeighbors&&) noexcept = default;
NearestNeighbors& NearestNeighbors::operator=(NearestNeighbors&&) noexcept =
    default;

const PointSet& NearestNeighbors::points() const {
  return impl_->cloud.pts;
}

double NearestNeighbors::squared_distance(const Point& p) const {
  if (!impl_->tree)
    return std::numeric_limits<double>::infinity();
  size_t index = 0;
  double d2 = 0;
  nanoflann::KNNResultSet<double> result(1);
  result.init(&index, &d2);
  impl_->tree->findNeighbors(result, p.data(), nanoflann::SearchParams(10));
  return d2;
}

}  // namespace voxgrad::metrics
