// The packed GEMM (voxgrad/core/kernels/matmul.hpp, NOTE [ GEMM ]) against
// a plain triple loop in long double, over edge sizes (1, tails of every
// register block, k across the 256 reduction block), transposes, strides,
// broadcast batches and accumulation; and its determinism promises: the same
// bits for any thread count (hence any tiling), and on AVX2 and AVX-512.

#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "test_util.hpp"
#include "voxgrad/core/kernels/isa.hpp"
#include "voxgrad/core/kernels/matmul.hpp"

namespace voxgrad {
namespace {

namespace vk = kernels;

struct Problem {
  int64_t batch, m, n, k;
  bool ta, tb, acc;
  int64_t pad;   // extra leading-dimension elements (strided rows)
  bool bcast_b;  // stride_b = 0

  std::string name() const {
    std::ostringstream os;
    os << "b" << batch << "m" << m << "n" << n << "k" << k << (ta ? "_ta" : "")
       << (tb ? "_tb" : "") << (acc ? "_acc" : "") << "_pad" << pad
       << (bcast_b ? "_bcastB" : "");
    return os.str();
  }
};

template <class T>
struct Operands {
  std::vector<T> a, b, c0;
  vk::GemmArgs<T> args;
};

template <class T>
Operands<T> make(const Problem& p, uint64_t seed) {
  Operands<T> o;
  auto& g = o.args;
  g.batch = p.batch;
  g.m = p.m;
  g.n = p.n;
  g.k = p.k;
  g.trans_a = p.ta;
  g.trans_b = p.tb;
  g.accumulate = p.acc;
  g.lda = (p.ta ? p.m : p.k) + p.pad;
  g.ldb = (p.tb ? p.k : p.n) + p.pad;
  g.ldc = p.n + p.pad;
  g.stride_a = g.lda * (p.ta ? p.k : p.m);
  g.stride_b = p.bcast_b ? 0 : g.ldb * (p.tb ? p.n : p.k);
  g.stride_c = g.ldc * p.m;
  Generator gen(seed);
  auto fill = [&](std::vector<T>& v, int64_t n) {
    const Tensor t = uniform({n}, -1.0, 1.0, dtype_of<T>(), &gen);
    v.assign(t.data<T>(), t.data<T>() + n);
  };
  fill(o.a, std::max<int64_t>(1, p.batch * g.stride_a));
  const int64_t b_matrix = g.ldb * (p.tb ? p.n : p.k);
  fill(o.b, std::max<int64_t>(1, p.bcast_b ? b_matrix : p.batch * b_matrix));
  fill(o.c0, std::max<int64_t>(1, p.batch * g.stride_c));
  return o;
}

/// C as the plain loop computes it in long double (C's padding kept).
template <class T>
std::vector<long double> reference(const Operands<T>& o) {
  const auto& g = o.args;
  std::vector<long double> c(o.c0.begin(), o.c0.end());
  for (int64_t b = 0; b < g.batch; ++b)
    for (int64_t i = 0; i < g.m; ++i)
      for (int64_t j = 0; j < g.n; ++j) {
        long double s = 0;
        for (int64_t p = 0; p < g.k; ++p) {
          const T av = g.trans_a ? o.a[b * g.stride_a + p * g.lda + i]
                                 : o.a[b * g.stride_a + i * g.lda + p];
          const T bv = g.trans_b ? o.b[b * g.stride_b + j * g.ldb + p]
                                 : o.b[b * g.stride_b + p * g.ldb + j];
          s += static_cast<long double>(av) * bv;
        }
        long double& dst = c[b * g.stride_c + i * g.ldc + j];
        dst = g.accumulate ? dst + s : s;
      }
  return c;
}

template <class T>
std::vector<T> run(Operands<T> o) {
  std::vector<T> c = o.c0;
  o.args.a = o.a.data();
  o.args.b = o.b.data();
  o.args.c = c.data();
  vk::gemm(o.args);
  return c;
}

std::vector<Problem> problems() {
  std::vector<Problem> ps;
  // Edges of every register block (mr 4/6/8, nr 8/16/32) and of kc = 256.
  for (int64_t m : {1, 5, 8, 13})
    for (int64_t n : {1, 7, 16, 33})
      for (int64_t k : {1, 9, 257})
        ps.push_back({1, m, n, k, false, false, false, 0, false});
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      ps.push_back({2, 19, 41, 300, ta, tb, false, 3, false});
      ps.push_back({1, 37, 70, 520, ta, tb, true, 0, false});
    }
  ps.push_back({3, 9, 35, 17, false, true, false, 0, true});
  ps.push_back({1, 130, 600, 64, false, false, false, 0, false});  // tiles
  ps.push_back({1, 16, 128, 600, false, true, false, 0, false});   // Linear
  ps.push_back({1, 128, 96, 16, true, false, true, 0, false});     // Linear dW
  return ps;
}

std::vector<vk::Isa> available_isas() {
  std::vector<vk::Isa> isas;
  for (vk::Isa isa : {vk::Isa::Generic, vk::Isa::Avx2, vk::Isa::Avx512})
    if (vk::cpu_supports(isa))
      isas.push_back(isa);
  return isas;
}

struct IsaGuard {
  ~IsaGuard() {
    vk::set_isa(vk::Isa::Auto);
  }
};

}  // namespace

TEST_CASE_TEMPLATE("gemm matches a long double triple loop", T, float, double) {
  IsaGuard guard;
  // Error bound of a k-term dot product of values in [-1, 1].
  const double eps = std::numeric_limits<T>::epsilon();
  for (const Problem& p : problems()) {
    CAPTURE(p.name());
    const Operands<T> o = make<T>(p, 7);
    const auto want = reference(o);
    const double tol = 2.0 * eps * static_cast<double>(p.k + 2);
    for (vk::Isa isa : available_isas()) {
      REQUIRE(vk::set_isa(isa));
      const std::string isa_s = vk::isa_name(isa);
      CAPTURE(isa_s);
      const std::vector<T> got = run(o);
      double worst = 0;
      for (size_t i = 0; i < got.size(); ++i)
        worst =
            std::max(worst, std::abs(static_cast<double>(got[i] - want[i])));
      CHECK(worst <= tol);  // padding of C (ldc > n) is untouched: 0 error
    }
  }
}

TEST_CASE_TEMPLATE(
    "gemm gives the same bits for 1, 2 and 3 threads, and on AVX2 and "
    "AVX-512",
    T,
    float,
    double) {
  IsaGuard guard;
  for (const Problem& p : problems()) {
    CAPTURE(p.name());
    const Operands<T> o = make<T>(p, 11);
    std::vector<T> fma_result;
    for (vk::Isa isa : available_isas()) {
      REQUIRE(vk::set_isa(isa));
      const std::string isa_s = vk::isa_name(isa);
      CAPTURE(isa_s);
      const auto one = test::with_threads(1, [&] { return run(o); });
      CHECK(test::with_threads(2, [&] { return run(o); }) == one);
      CHECK(test::with_threads(3, [&] { return run(o); }) == one);
      if (isa == vk::Isa::Generic)
        continue;  // SSE2 rounds each product (NOTE [ GEMM ])
      if (fma_result.empty())
        fma_result = one;
      else
        CHECK(one == fma_result);
    }
  }
}

TEST_CASE("gemm with k = 0 writes zeros, or leaves C when accumulating") {
  std::vector<float> c{1, 2, 3, 4, 5, 6};
  vk::GemmArgs<float> g;
  g.m = 2;
  g.n = 3;
  g.k = 0;
  g.c = c.data();
  g.ldc = 3;
  g.accumulate = true;
  vk::gemm(g);
  CHECK(c == std::vector<float>{1, 2, 3, 4, 5, 6});
  g.accumulate = false;
  vk::gemm(g);
  CHECK(c == std::vector<float>(6, 0.0f));
}

TEST_CASE(
    "matmul reads transposed and broadcast views with the bits of copies") {
  Generator g(21);
  const Tensor w = randn({40, 300}, kFloat32, &g);  // Linear's weight
  const Tensor x = randn({2, 3, 16, 300}, kFloat32, &g);
  const Tensor gy = randn({2, 3, 16, 40}, kFloat32, &g);
  struct Case {
    const char* name;
    Tensor a, b;
  };
  const Case cases[] = {
      {"x @ w.t()", x, w.transpose(0, 1)},
      {"gy @ w", gy, w},
      {"x.t() @ gy", x.transpose(-1, -2), gy},
      {"row-sliced", x.slice(3, 0, 200), w.slice(1, 0, 200).transpose(0, 1)},
      {"b broadcast", x, w.transpose(0, 1).expand({3, 300, 40})},
      {"a broadcast", x.select(0, 1).select(0, 2),
       w.transpose(0, 1).expand({4, 300, 40})},
  };
  for (const Case& c : cases) {
    const std::string name = c.name;
    CAPTURE(name);
    const Tensor got = matmul(c.a, c.b);
    const Tensor want = matmul(c.a.contiguous(), c.b.contiguous());
    CHECK(test::bit_equal(got, want));
  }
}

}  // namespace voxgrad
