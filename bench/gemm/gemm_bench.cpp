// voxgrad-gemm-bench: voxgrad's GEMM (voxgrad/core/kernels/matmul.hpp) on
// 512^3 and on the example VAE's Linear shapes, side by side in one process
// with a CBLAS library loaded at run time (Debian's OpenBLAS unpacked by
// scripts/model_bench.sh, nothing linked or installed):
//
//   voxgrad-gemm-bench [--threads T] [--reps R] [--blas path/libblas.so.3]
//
// One JSON line per (shape, implementation): median and min ms of R timed
// calls after 3 warm-ups, GFLOP/s (2 m n k / median), and for voxgrad the
// largest |difference| to the BLAS result. BLAS threads:
// openblas_set_num_threads when the library has it (else OMP_NUM_THREADS
// applies).

#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include "voxgrad/core/kernels/matmul.hpp"
#include "voxgrad/core/parallel.hpp"

namespace {

using Clock = std::chrono::steady_clock;

// CBLAS enums (cblas.h values).
constexpr int kRowMajor = 101, kNoTrans = 111, kTrans = 112;
using SgemmFn = void (*)(
    int,
    int,
    int,
    int,
    int,
    int,
    float,
    const float*,
    int,
    const float*,
    int,
    float,
    float*,
    int);
using DgemmFn = void (*)(
    int,
    int,
    int,
    int,
    int,
    int,
    double,
    const double*,
    int,
    const double*,
    int,
    double,
    double*,
    int);
using SetThreadsFn = void (*)(int);

struct Shape {
  const char* name;
  int64_t m, n, k;
  bool ta, tb;
};

// The VAE's Linear layers (batch 16): encoder 4096 -> 128, decoder 64 ->
// 4096, each as forward (x W^T), input gradient (dy W) and weight gradient
// (dy^T x).
const Shape kShapes[] = {
    {"square512", 512, 512, 512, false, false},
    {"enc_fwd", 16, 128, 4096, false, true},
    {"enc_dx", 16, 4096, 128, false, false},
    {"enc_dw", 128, 4096, 16, true, false},
    {"dec_fwd", 16, 4096, 64, false, true},
    {"dec_dx", 16, 64, 4096, false, false},
    {"dec_dw", 4096, 64, 16, true, false},
};

double median_ms(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::vector<double> time_calls(const std::function<void()>& f, int reps) {
  for (int i = 0; i < 3; ++i)
    f();
  std::vector<double> v;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = Clock::now();
    f();
    v.push_back(
        std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  return v;
}

template <class T>
void run_shape(
    const Shape& s, int threads, int reps, void* blas_fn, const char* type) {
  // op(A) is m x k; stored k x m when transposed. op(B) is k x n; stored
  // n x k when transposed.
  std::vector<T> a(static_cast<size_t>(s.m * s.k)),
      b(static_cast<size_t>(s.k * s.n)), c(static_cast<size_t>(s.m * s.n)),
      ref(c.size());
  uint64_t state = 12345;
  auto rnd = [&] {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<T>(static_cast<double>(state >> 11) * 0x1p-53 - 0.5);
  };
  for (T& v : a)
    v = rnd();
  for (T& v : b)
    v = rnd();
  voxgrad::kernels::GemmArgs<T> g;
  g.m = s.m;
  g.n = s.n;
  g.k = s.k;
  g.a = a.data();
  g.lda = s.ta ? s.m : s.k;
  g.trans_a = s.ta;
  g.b = b.data();
  g.ldb = s.tb ? s.k : s.n;
  g.trans_b = s.tb;
  g.c = c.data();
  g.ldc = s.n;
  const double flop = 2.0 * static_cast<double>(s.m * s.n * s.k);
  auto emit = [&](const char* impl, const std::vector<double>& t, double err) {
    const double med = median_ms(t);
    std::printf(
        "{\"shape\": \"%s\", \"dtype\": \"%s\", \"m\": %lld, \"n\": %lld, "
        "\"k\": %lld, \"impl\": \"%s\", \"threads\": %d, \"median_ms\": %.4f, "
        "\"min_ms\": %.4f, \"gflops\": %.2f, \"max_abs_diff\": %.3g}\n",
        s.name, type, static_cast<long long>(s.m), static_cast<long long>(s.n),
        static_cast<long long>(s.k), impl, threads, med,
        *std::min_element(t.begin(), t.end()), flop / (med * 1e6), err);
    std::fflush(stdout);
  };
  double err = -1;
  std::vector<double> tb;
  if (blas_fn) {
    auto call = [&] {
      if constexpr (std::is_same_v<T, float>)
        reinterpret_cast<SgemmFn>(blas_fn)(
            kRowMajor, s.ta ? kTrans : kNoTrans, s.tb ? kTrans : kNoTrans,
            static_cast<int>(s.m), static_cast<int>(s.n), static_cast<int>(s.k),
            1.0f, a.data(), static_cast<int>(g.lda), b.data(),
            static_cast<int>(g.ldb), 0.0f, ref.data(), static_cast<int>(s.n));
      else
        reinterpret_cast<DgemmFn>(blas_fn)(
            kRowMajor, s.ta ? kTrans : kNoTrans, s.tb ? kTrans : kNoTrans,
            static_cast<int>(s.m), static_cast<int>(s.n), static_cast<int>(s.k),
            1.0, a.data(), static_cast<int>(g.lda), b.data(),
            static_cast<int>(g.ldb), 0.0, ref.data(), static_cast<int>(s.n));
    };
    tb = time_calls(call, reps);
  }
  const auto tv = time_calls([&] { voxgrad::kernels::gemm(g); }, reps);
  if (blas_fn) {
    err = 0;
    for (size_t i = 0; i < c.size(); ++i)
      err = std::max(err, static_cast<double>(std::abs(c[i] - ref[i])));
    emit("blas", tb, 0);
  }
  emit(
      (std::string("voxgrad-") + voxgrad::kernels::matmul_isa()).c_str(), tv,
      err);
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 2, reps = 15;
  std::string blas_path;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--threads" && i + 1 < argc)
      threads = std::atoi(argv[++i]);
    else if (a == "--reps" && i + 1 < argc)
      reps = std::atoi(argv[++i]);
    else if (a == "--blas" && i + 1 < argc)
      blas_path = argv[++i];
    else {
      std::fprintf(
          stderr,
          "usage: voxgrad-gemm-bench [--threads T] [--reps R] [--blas LIB]\n");
      return 2;
    }
  }
  if (threads < 1 || reps < 1) {
    std::fprintf(stderr, "voxgrad-gemm-bench: threads and reps must be >= 1\n");
    return 2;
  }
  voxgrad::set_num_threads(threads);
  void* sgemm = nullptr;
  void* dgemm = nullptr;
  if (!blas_path.empty()) {
    void* lib = dlopen(blas_path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      std::fprintf(stderr, "voxgrad-gemm-bench: %s\n", dlerror());
      return 1;
    }
    sgemm = dlsym(lib, "cblas_sgemm");
    dgemm = dlsym(lib, "cblas_dgemm");
    if (auto set = reinterpret_cast<SetThreadsFn>(
            dlsym(lib, "openblas_set_num_threads")))
      set(threads);
  }
  for (const Shape& s : kShapes)
    run_shape<float>(s, threads, reps, sgemm, "float32");
  run_shape<double>(kShapes[0], threads, reps, dgemm, "float64");
  return 0;
}
