#pragma once
// Small helpers shared by the tests.

#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <string>

#include <voxgrad/voxgrad.hpp>

namespace voxgrad::test {

/// Max |a - b| over all elements (shapes must match).
inline double max_abs_diff(const Tensor& a, const Tensor& b) {
  REQUIRE(a.shape() == b.shape());
  const auto va = a.to_vector<double>(), vb = b.to_vector<double>();
  double m = 0;
  for (size_t i = 0; i < va.size(); ++i) {
    const double d = std::abs(va[i] - vb[i]);
    if (std::isnan(d))
      return INFINITY;
    m = std::max(m, d);
  }
  return m;
}

/// Element-wise |got - want| <= atol + rtol * |want|.
inline bool allclose(
    const Tensor& got,
    const Tensor& want,
    double atol = 1e-6,
    double rtol = 1e-5) {
  if (got.shape() != want.shape())
    return false;
  const auto g = got.to_vector<double>(), w = want.to_vector<double>();
  for (size_t i = 0; i < g.size(); ++i)
    if (!(std::abs(g[i] - w[i]) <= atol + rtol * std::abs(w[i])))
      return false;
  return true;
}

/// Bitwise equality of two tensors' elements.
inline bool bit_equal(const Tensor& a, const Tensor& b) {
  if (a.shape() != b.shape() || a.dtype() != b.dtype())
    return false;
  const Tensor ca = a.contiguous(), cb = b.contiguous();
  return std::memcmp(
             ca.raw_data(), cb.raw_data(),
             static_cast<size_t>(ca.numel()) * itemsize(ca.dtype())) == 0;
}

/// The message of the voxgrad::Error `f` throws ("" if it throws none).
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const voxgrad::Error& e) {
    return e.what();
  }
  return "";
}

/// Checks that `f` throws voxgrad::Error whose message contains every part.
#define CHECK_ERROR_CONTAINS(expr, ...)                                        \
  do {                                                                         \
    const std::string msg_ = ::voxgrad::test::error_of([&] { (void)(expr); }); \
    CHECK_MESSAGE(!msg_.empty(), "expected voxgrad::Error from " #expr);       \
    for (const char* part_ : {__VA_ARGS__})                                    \
      CHECK_MESSAGE(                                                           \
          msg_.find(part_) != std::string::npos,                               \
          "message '" << msg_ << "' lacks '" << part_ << "'");                 \
  } while (0)

/// Runs `f` with the kernels limited to n threads, then restores the default.
template <class F>
auto with_threads(int n, F&& f) {
  struct Restore {
    int prev;
    ~Restore() {
      voxgrad::set_num_threads(prev);
    }
  } restore{voxgrad::num_threads()};
  voxgrad::set_num_threads(n);
  return f();
}

}  // namespace voxgrad::test
