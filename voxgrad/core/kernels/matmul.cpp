// Matrix products: argument checks, the cut of C into parallel tiles and the
// choice of instruction set here; the packed GEMM in matmul_impl.hpp
// (NOTE [ GEMM ]), compiled per ISA (NOTE [ ISA dispatch ] in isa.hpp).

#include "voxgrad/core/kernels/matmul.hpp"

#include <algorithm>
#include <optional>

#include "voxgrad/core/error.hpp"
#include "voxgrad/core/kernels/matmul_impl.hpp"
#include "voxgrad/core/profiler.hpp"

namespace voxgrad::kernels {
namespace detail {

template <class T>
const MatmulTable<T>& matmul_generic() {
  static constexpr MatmulTable<T> kTable =
      make_matmul_table<T, xsimd::default_arch>("generic");
  return kTable;
}
template const MatmulTable<float>& matmul_generic<float>();
template const MatmulTable<double>& matmul_generic<double>();

}  // namespace detail

namespace {

template <class T>
const detail::MatmulTable<T>& table() {
  return pick_isa(
      &detail::matmul_generic<T>, &detail::matmul_avx2<T>,
      &detail::matmul_avx512<T>);
}

int64_t round_up(int64_t v, int64_t to) {
  return (v + to - 1) / to * to;
}

// Tiles of C: mc x nc starts at 128 x 512 (an A block of 128 x 256 in L2,
// a B block of 256 x 512 in L3), then shrinks until there are a few tiles
// per thread. Each tile packs its own blocks, so more column tiles re-pack
// A and more row tiles re-pack B: the side of the smaller operand shrinks
// first. The tiling never changes a result (NOTE [ GEMM ]), so it may follow
// the thread count.
detail::GemmTiling tiling(
    int64_t batch, int64_t m, int64_t n, int64_t mr, int64_t nr) {
  detail::GemmTiling t;
  t.mc = std::min(round_up(m, mr), std::max(mr, 128 / mr * mr));
  t.nc = std::min(round_up(n, nr), round_up(512, nr));
  const int64_t want = 4 * static_cast<int64_t>(num_threads());
  auto count = [&] {
    return batch * ((m + t.mc - 1) / t.mc) * ((n + t.nc - 1) / t.nc);
  };
  while (count() < want) {
    const bool can_n = t.nc > nr, can_m = t.mc > mr;
    if (can_n && (m <= n || !can_m))
      t.nc = round_up(t.nc / 2, nr);
    else if (can_m)
      t.mc = round_up(t.mc / 2, mr);
    else
      break;
  }
  t.tiles_m = (m + t.mc - 1) / t.mc;
  t.tiles_n = (n + t.nc - 1) / t.nc;
  return t;
}

}  // namespace

template <class T>
void gemm(const GemmArgs<T>& g) {
  VOXGRAD_ASSERT(g.batch >= 0 && g.m >= 0 && g.n >= 0 && g.k >= 0);
  if (g.batch == 0 || g.m == 0 || g.n == 0)
    return;
  if (g.k == 0) {  // an empty sum
    if (!g.accumulate)
      for (int64_t b = 0; b < g.batch; ++b)
        for (int64_t i = 0; i < g.m; ++i)
          std::fill_n(g.c + b * g.stride_c + i * g.ldc, g.n, T(0));
    return;
  }
  std::optional<profiler::Scope> scope;
  if (g.profile)
    scope.emplace(
        "matmul", profiler::Kind::Op,
        g.batch * (g.m * g.k + g.k * g.n + g.m * g.n) *
            static_cast<int64_t>(sizeof(T)));
  const detail::MatmulTable<T>& t = table<T>();
  t.gemm(g, tiling(g.batch, g.m, g.n, t.mr, t.nr));
}

template <class T>
void matmul(
    int64_t batch,
    int64_t m,
    int64_t k,
    int64_t n,
    const T* a,
    const T* b,
    T* c) {
  GemmArgs<T> g;
  g.batch = batch;
  g.m = m;
  g.n = n;
  g.k = k;
  g.a = a;
  g.lda = k;
  g.stride_a = m * k;
  g.b = b;
  g.ldb = n;
  g.stride_b = k * n;
  g.c = c;
  g.ldc = n;
  g.stride_c = m * n;
  gemm(g);
}

const char* matmul_isa() {
  return table<float>().name;
}

template void gemm<float>(const GemmArgs<float>&);
template void gemm<double>(const GemmArgs<double>&);
template void matmul<float>(
    int64_t, int64_t, int64_t, int64_t, const float*, const float*, float*);
template void matmul<double>(
    int64_t, int64_t, int64_t, int64_t, const double*, const double*, double*);

}  // namespace voxgrad::kernels
