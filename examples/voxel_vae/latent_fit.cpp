#include "latent_fit.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "voxgrad/core/error.hpp"
#include "voxgrad/core/grad_mode.hpp"

namespace voxgrad::examples {

Tensor fitted_latent_samples(
    VoxelVAE& model,
    const VoxelDataset& data,
    int64_t shapes,
    int64_t count,
    Generator& gen) {
  NoGradGuard no_grad;
  const int64_t z = model.arch().latent;
  const auto zs = static_cast<size_t>(z);
  shapes = std::min(shapes, data.size(Split::Train));
  VOXGRAD_CHECK(
      shapes >= 1, "fitted_latent_samples: need >= 1 shape (got ", shapes, ")");
  // One shape (--train-size 1) has no spread: the covariance is then the
  // ridge alone and the samples are that shape's code, barely perturbed.
  const auto dof = static_cast<double>(std::max<int64_t>(shapes - 1, 1));
  // Codes in double: the covariance sums thousands of products.
  std::vector<double> codes;
  for (int64_t b = 0; b < shapes; b += 64) {
    const Tensor mu =
        model.encode(data.range(Split::Train, b, std::min(shapes, b + 64)))
            .first.contiguous();
    const float* p = mu.data<float>();
    codes.insert(codes.end(), p, p + mu.numel());
  }
  std::vector<double> mean(zs, 0), cov(zs * zs, 0);
  for (int64_t i = 0; i < shapes; ++i)
    for (size_t a = 0; a < zs; ++a)
      mean[a] +=
          codes[static_cast<size_t>(i) * zs + a] / static_cast<double>(shapes);
  for (int64_t i = 0; i < shapes; ++i) {
    const double* c = codes.data() + static_cast<size_t>(i) * zs;
    for (size_t a = 0; a < zs; ++a)
      for (size_t b = 0; b <= a; ++b)
        cov[a * zs + b] += (c[a] - mean[a]) * (c[b] - mean[b]) / dof;
  }
  // Cholesky of the lower triangle of a semi-definite C: with fewer shapes
  // than dimensions, or collapsed dimensions, some pivots are zero up to
  // rounding. A ridge of 1e-6 of the mean variance, and a column whose
  // pivot is not above it left at zero (that direction gets no spread),
  // keep every entry finite: dividing by such a pivot amplified rounding
  // noise to inf.
  double trace = 0;
  for (size_t a = 0; a < zs; ++a)
    trace += cov[a * zs + a];
  const double ridge = 1e-6 * trace / static_cast<double>(zs) + 1e-12;
  std::vector<double> l(zs * zs, 0);
  for (size_t b = 0; b < zs; ++b) {
    double d = cov[b * zs + b] + ridge;
    for (size_t k = 0; k < b; ++k)
      d -= l[b * zs + k] * l[b * zs + k];
    if (d <= ridge)
      continue;  // degenerate direction: column b stays zero
    l[b * zs + b] = std::sqrt(d);
    for (size_t a = b + 1; a < zs; ++a) {
      double v = cov[a * zs + b];
      for (size_t k = 0; k < b; ++k)
        v -= l[a * zs + k] * l[b * zs + k];
      l[a * zs + b] = v / l[b * zs + b];
    }
  }
  const Tensor eps = randn({count, z}, kFloat64, &gen).contiguous();
  Tensor out = empty({count, z});
  float* po = out.mutable_data<float>();
  for (int64_t i = 0; i < count; ++i) {
    const double* e = eps.data<double>() + i * z;
    for (size_t a = 0; a < zs; ++a) {
      double v = mean[a];
      for (size_t k = 0; k <= a; ++k)
        v += l[a * zs + k] * e[k];
      po[i * z + static_cast<int64_t>(a)] = static_cast<float>(v);
    }
  }
  return out;
}

}  // namespace voxgrad::examples
