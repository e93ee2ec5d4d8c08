#include "voxgrad/core/random.hpp"

#include <cmath>
#include <numbers>

#include "voxgrad/core/parallel.hpp"
#include "voxgrad/core/tensor.hpp"

namespace voxgrad {

Generator& default_generator() {
  static Generator gen;
  return gen;
}

void manual_seed(uint64_t seed) {
  default_generator().manual_seed(seed);
}

namespace detail {

std::array<uint32_t, 4> philox(uint64_t counter, uint64_t key) {
  // Salmon et al., "Parallel random numbers: as easy as 1, 2, 3" (SC'11).
  constexpr uint32_t kM0 = 0xD2511F53, kM1 = 0xCD9E8D57;
  constexpr uint32_t kW0 = 0x9E3779B9, kW1 = 0xBB67AE85;
  std::array<uint32_t, 4> c{
      static_cast<uint32_t>(counter), static_cast<uint32_t>(counter >> 32), 0,
      0};
  uint32_t k0 = static_cast<uint32_t>(key),
           k1 = static_cast<uint32_t>(key >> 32);
  for (int round = 0; round < 10; ++round) {
    const uint64_t p0 = uint64_t{kM0} * c[0], p1 = uint64_t{kM1} * c[2];
    c = {
        static_cast<uint32_t>(p1 >> 32) ^ c[1] ^ k0, static_cast<uint32_t>(p1),
        static_cast<uint32_t>(p0 >> 32) ^ c[3] ^ k1, static_cast<uint32_t>(p0)};
    k0 += kW0;
    k1 += kW1;
  }
  return c;
}

namespace {
double to_unit(uint32_t hi, uint32_t lo) {  // 53 bits, as NumPy does
  return ((hi >> 5) * 67108864.0 + (lo >> 6)) / 9007199254740992.0;
}
}  // namespace

double uniform01(uint64_t counter, uint64_t key) {
  const auto r = philox(counter, key);
  return to_unit(r[0], r[1]);
}

double standard_normal(uint64_t counter, uint64_t key) {
  const auto r = philox(counter, key);
  const double u = 1.0 - to_unit(r[0], r[1]);  // (0, 1]: log is finite
  const double v = to_unit(r[2], r[3]);
  return std::sqrt(-2.0 * std::log(u)) * std::cos(2.0 * std::numbers::pi * v);
}

}  // namespace detail

namespace {

template <class Draw>
Tensor fill_random(const Shape& shape, Dtype dtype, Generator* gen, Draw draw) {
  Tensor out = empty(shape, dtype);
  Generator& g = gen ? *gen : default_generator();
  const int64_t n = out.numel();
  const uint64_t first = g.advance(static_cast<uint64_t>(n));
  const uint64_t key = g.seed();
  dispatch(dtype, [&]<class T>() {
    T* p = out.mutable_data<T>();
    parallel_for(0, n, 4096, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i)
        p[i] = static_cast<T>(draw(first + static_cast<uint64_t>(i), key));
    });
  });
  return out;
}

}  // namespace

Tensor rand(const Shape& shape, Dtype dtype, Generator* gen) {
  return uniform(shape, 0.0, 1.0, dtype, gen);
}

Tensor randn(const Shape& shape, Dtype dtype, Generator* gen) {
  return normal(shape, 0.0, 1.0, dtype, gen);
}

Tensor uniform(
    const Shape& shape, double low, double high, Dtype dtype, Generator* gen) {
  VOXGRAD_CHECK(
      std::isfinite(low) && std::isfinite(high) && low <= high,
      "uniform: need finite low <= high (got low ", low, ", high ", high, ")");
  return fill_random(shape, dtype, gen, [=](uint64_t c, uint64_t k) {
    const double u = low + (high - low) * detail::uniform01(c, k);
    // Rounding to float can land on `high`; keep the interval half-open.
    return dtype == kFloat32 && static_cast<float>(u) >= high && high > low
               ? std::nextafter(
                     static_cast<float>(high), static_cast<float>(low))
               : u;
  });
}

Tensor normal(
    const Shape& shape, double mean, double std, Dtype dtype, Generator* gen) {
  VOXGRAD_CHECK(
      std::isfinite(mean) && std::isfinite(std) && std >= 0,
      "normal: need finite mean and std >= 0 (got mean ", mean, ", std ", std,
      ")");
  return fill_random(shape, dtype, gen, [=](uint64_t c, uint64_t k) {
    return mean + std * detail::standard_normal(c, k);
  });
}

Tensor rand_like(const Tensor& t, Generator* gen) {
  return rand(t.shape(), t.dtype(), gen);
}

Tensor randn_like(const Tensor& t, Generator* gen) {
  return randn(t.shape(), t.dtype(), gen);
}

}  // namespace voxgrad
