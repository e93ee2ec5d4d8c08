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
      shapes >= 2, "fitted_latent_samples: need >= 2 shapes (got ", shapes,
      ")");
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
        cov[a * zs + b] += (c[a] - mean[a]) * (c[b] - mean[b]) /
                           static_cast<double>(shapes - 1);
  }
  // Cholesky of the lower triangle, with a small ridge: with fewer shapes
  // than dimensions, or collapsed dimensions, C is only semi-definite.
  std::vector<double> l(zs * zs, 0);
  for (size_t a = 0; a < zs; ++a) {
    for (size_t b = 0; b <= a; ++b) {
      double s = cov[a * zs + b] + (a == b ? 1e-6 : 0);
      for (size_t k = 0; k < b; ++k)
        s -= l[a * zs + k] * l[b * zs + k];
      l[a * zs + b] =
          a == b ? std::sqrt(std::max(s, 1e-12)) : s / l[b * zs + b];
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
