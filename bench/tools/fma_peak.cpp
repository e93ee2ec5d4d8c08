// FMA peak of this machine for the vector widths voxgrad's kernels use:
// AVX2 (8 float lanes) and AVX-512 (16 lanes), 1 and 2 threads. Built and
// run by scripts/bench.sh (not part of the CMake build: it needs
// -march=native, which the library never uses by default).
//   g++ -O2 -march=native -fopenmp bench/tools/fma_peak.cpp -o fma_peak
//   ./fma_peak            # prints one JSON object
// Each thread runs 16 independent chains of vfmadd on registers (no memory
// traffic): enough to cover a 4-cycle FMA latency on 2-4 FMA pipes.
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

namespace {

double now_s() {
  return std::chrono::duration<double>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

constexpr int kChains = 16;

__attribute__((noinline)) float chains_avx2(long iters, float seed) {
  __m256 acc[kChains];
  for (int i = 0; i < kChains; ++i)
    acc[i] = _mm256_set1_ps(seed + 0.001f * static_cast<float>(i));
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  for (long it = 0; it < iters; ++it) {
#pragma GCC unroll 16
    for (int i = 0; i < kChains; ++i)
      acc[i] = _mm256_fmadd_ps(acc[i], a, b);
  }
  __m256 s = acc[0];
  for (int i = 1; i < kChains; ++i)
    s = _mm256_add_ps(s, acc[i]);
  float out[8];
  _mm256_storeu_ps(out, s);
  return out[0] + out[7];
}

#if defined(__AVX512F__)
__attribute__((noinline)) float chains_avx512(long iters, float seed) {
  __m512 acc[kChains];
  for (int i = 0; i < kChains; ++i)
    acc[i] = _mm512_set1_ps(seed + 0.001f * static_cast<float>(i));
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  for (long it = 0; it < iters; ++it) {
#pragma GCC unroll 16
    for (int i = 0; i < kChains; ++i)
      acc[i] = _mm512_fmadd_ps(acc[i], a, b);
  }
  __m512 s = acc[0];
  for (int i = 1; i < kChains; ++i)
    s = _mm512_add_ps(s, acc[i]);
  float out[16];
  _mm512_storeu_ps(out, s);
  return out[0] + out[15];
}
#endif

// Median and best GFLOP/s over reps of `threads` threads running f.
template <class F>
void measure(F f, int lanes, int threads, double& median, double& best) {
  const long iters = 20000000;
  std::vector<double> g;
  for (int rep = 0; rep < 9; ++rep) {
    float sink = 0;
    const double t0 = now_s();
#pragma omp parallel num_threads(threads) reduction(+ : sink)
    sink += f(iters, 1.0f + static_cast<float>(omp_get_thread_num()));
    const double s = now_s() - t0;
    if (sink == 12345.0f)
      std::printf(" ");
    g.push_back(
        threads * static_cast<double>(iters) * kChains * lanes * 2 / s / 1e9);
  }
  std::sort(g.begin(), g.end());
  median = g[g.size() / 2];
  best = g.back();
}

}  // namespace

int main() {
  std::printf("{\"tool\": \"bench/tools/fma_peak.cpp\", \"fma\": [");
  bool first = true;
  for (int isa = 0; isa < 2; ++isa) {
#if !defined(__AVX512F__)
    if (isa == 1)
      break;
#endif
    for (int t = 1; t <= 2; ++t) {
      double med = 0, best = 0;
      if (isa == 0)
        measure(chains_avx2, 8, t, med, best);
#if defined(__AVX512F__)
      else
        measure(chains_avx512, 16, t, med, best);
#endif
      std::printf(
          "%s{\"isa\": \"%s\", \"threads\": %d, \"gflops_median\": %.2f, "
          "\"gflops_best\": %.2f}",
          first ? "" : ", ", isa == 0 ? "avx2" : "avx512", t, med, best);
      first = false;
    }
  }
  std::printf("]}\n");
  return 0;
}
