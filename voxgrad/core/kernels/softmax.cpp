// softmax.hpp's four kernels: pick the loops of the active instruction set
// (softmax_impl.hpp, compiled per set: NOTE [ ISA dispatch ] in isa.hpp) and
// record a profiler event. This file also holds the baseline (generic) loops.

#include "voxgrad/core/kernels/softmax.hpp"

#include "voxgrad/core/profiler.hpp"

#define VOXGRAD_SOFTMAX_ARCH xsimd::default_arch
#define VOXGRAD_SOFTMAX_NS generic
#include "voxgrad/core/kernels/softmax_impl.hpp"

namespace voxgrad::kernels {
namespace detail {

template <class T>
const SoftmaxTable<T>& softmax_generic() {
  return generic::make_table<T>("generic");
}
template const SoftmaxTable<float>& softmax_generic<float>();
template const SoftmaxTable<double>& softmax_generic<double>();

}  // namespace detail

namespace {

template <class T>
const detail::SoftmaxTable<T>& table() {
  return pick_isa(
      &detail::softmax_generic<T>, &detail::softmax_avx2<T>,
      &detail::softmax_avx512<T>);
}

int64_t bytes_of(const ClassAxis& s, int64_t arrays, size_t size) {
  return arrays * s.outer * s.classes * s.inner * static_cast<int64_t>(size);
}

}  // namespace

template <class T>
void softmax_forward(const ClassAxis& s, const T* x, T* y, bool log) {
  profiler::Scope scope(
      log ? "log_softmax" : "softmax", profiler::Kind::Op,
      bytes_of(s, 2, sizeof(T)));
  table<T>().forward(s, x, y, log);
}

template <class T>
void softmax_backward(
    const ClassAxis& s, const T* y, const T* dy, T* dx, bool log) {
  profiler::Scope scope(
      log ? "log_softmax_backward" : "softmax_backward", profiler::Kind::Op,
      bytes_of(s, 3, sizeof(T)));
  table<T>().backward(s, y, dy, dx, log);
}

template <class T>
void cross_entropy_forward(
    const ClassAxis& s,
    const T* x,
    const CrossEntropyArgs<T>& a,
    T* loss,
    T* lse) {
  profiler::Scope scope(
      "cross_entropy", profiler::Kind::Op, bytes_of(s, 1, sizeof(T)));
  table<T>().ce_forward(s, x, a, loss, lse);
}

template <class T>
void cross_entropy_backward(
    const ClassAxis& s,
    const T* x,
    const CrossEntropyArgs<T>& a,
    const T* lse,
    const T* grad,
    T* dx) {
  profiler::Scope scope(
      "cross_entropy_backward", profiler::Kind::Op, bytes_of(s, 2, sizeof(T)));
  table<T>().ce_backward(s, x, a, lse, grad, dx);
}

#define VOXGRAD_SOFTMAX_INSTANTIATE(T)                                    \
  template void softmax_forward<T>(const ClassAxis&, const T*, T*, bool); \
  template void softmax_backward<T>(                                      \
      const ClassAxis&, const T*, const T*, T*, bool);                    \
  template void cross_entropy_forward<T>(                                 \
      const ClassAxis&, const T*, const CrossEntropyArgs<T>&, T*, T*);    \
  template void cross_entropy_backward<T>(                                \
      const ClassAxis&, const T*, const CrossEntropyArgs<T>&, const T*,   \
      const T*, T*);
VOXGRAD_SOFTMAX_INSTANTIATE(float)
VOXGRAD_SOFTMAX_INSTANTIATE(double)
#undef VOXGRAD_SOFTMAX_INSTANTIATE

}  // namespace voxgrad::kernels
