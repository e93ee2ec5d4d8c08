// Fused optimizer updates: the cut of all tensors into fixed work units and
// the choice of instruction set here; the loops in optim_update_impl.hpp
// (NOTE [ ISA dispatch ] in isa.hpp).

#include "voxgrad/core/kernels/optim_update.hpp"

#include <vector>

#include "voxgrad/core/kernels/optim_update_impl.hpp"
#include "voxgrad/core/profiler.hpp"

namespace voxgrad::kernels {
namespace detail {

template <class T>
const OptimTable<T>& optim_update_generic() {
  static constexpr OptimTable<T> kTable =
      make_optim_update_table<T, xsimd::default_arch>("generic");
  return kTable;
}
template const OptimTable<float>& optim_update_generic<float>();
template const OptimTable<double>& optim_update_generic<double>();

}  // namespace detail

namespace {

template <class T>
const detail::OptimTable<T>& table() {
  return pick_isa(
      &detail::optim_update_generic<T>, &detail::optim_update_avx2<T>,
      &detail::optim_update_avx512<T>);
}

// Work units of at most 16384 elements, never spanning two tensors, so a
// group of many small parameters and one of a few large ones both spread
// over the threads.
template <class Tensors>
std::vector<detail::UpdateChunk> chunks(const Tensors* t, int64_t count) {
  constexpr int64_t kChunk = 16384;
  std::vector<detail::UpdateChunk> out;
  for (int64_t i = 0; i < count; ++i)
    for (int64_t b = 0; b < t[i].n; b += kChunk)
      out.push_back({i, b, b + kChunk < t[i].n ? b + kChunk : t[i].n});
  return out;
}

}  // namespace

template <class T>
void adam_update(
    const AdamTensor<T>* tensors, int64_t count, const AdamScalars<T>& s) {
  profiler::Scope scope("adam_update", profiler::Kind::Op);
  for (int64_t i = 0; i < count; ++i)  // read p g m v (vmax), write p m v
    scope.add_bytes(
        tensors[i].n * static_cast<int64_t>(sizeof(T)) *
        (tensors[i].vmax ? 9 : 7));
  const auto c = chunks(tensors, count);
  table<T>().adam(tensors, c.data(), static_cast<int64_t>(c.size()), s);
}

template <class T>
void sgd_update(
    const SgdTensor<T>* tensors, int64_t count, const SgdScalars<T>& s) {
  profiler::Scope scope("sgd_update", profiler::Kind::Op);
  for (int64_t i = 0; i < count; ++i)  // read p g (buf), write p (buf)
    scope.add_bytes(
        tensors[i].n * static_cast<int64_t>(sizeof(T)) *
        (tensors[i].buf ? 5 : 3));
  const auto c = chunks(tensors, count);
  table<T>().sgd(tensors, c.data(), static_cast<int64_t>(c.size()), s);
}

template <class T>
void ema_update(const EmaTensor<T>* tensors, int64_t count, T weight) {
  profiler::Scope scope("ema_update", profiler::Kind::Op);
  for (int64_t i = 0; i < count; ++i)  // read avg p, write avg
    scope.add_bytes(tensors[i].n * static_cast<int64_t>(sizeof(T)) * 3);
  const auto c = chunks(tensors, count);
  table<T>().ema(tensors, c.data(), static_cast<int64_t>(c.size()), weight);
}

template void adam_update<float>(
    const AdamTensor<float>*, int64_t, const AdamScalars<float>&);
template void adam_update<double>(
    const AdamTensor<double>*, int64_t, const AdamScalars<double>&);
template void sgd_update<float>(
    const SgdTensor<float>*, int64_t, const SgdScalars<float>&);
template void sgd_update<double>(
    const SgdTensor<double>*, int64_t, const SgdScalars<double>&);

template void ema_update<float>(const EmaTensor<float>*, int64_t, float);
template void ema_update<double>(const EmaTensor<double>*, int64_t, double);

}  // namespace voxgrad::kernels
