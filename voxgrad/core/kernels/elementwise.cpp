// Elementwise kernels: shapes, broadcasting and output allocation here; the
// SIMD loops in elementwise_impl.hpp, compiled per instruction set and chosen
// at run time (NOTE [ ISA dispatch ] in isa.hpp).

#include "voxgrad/core/kernels/elementwise.hpp"

#include <cstring>
#include <type_traits>

#include "voxgrad/core/kernels/elementwise_impl.hpp"
#include "voxgrad/core/kernels/integer.hpp"
#include "voxgrad/core/kernels/isa.hpp"
#include "voxgrad/core/profiler.hpp"

namespace voxgrad::kernels {
namespace detail {

template <class T>
const ElementwiseTable<T>& elementwise_generic() {
  static constexpr ElementwiseTable<T> kTable =
      make_elementwise_table<T, xsimd::default_arch>("generic");
  return kTable;
}
template const ElementwiseTable<float>& elementwise_generic<float>();
template const ElementwiseTable<double>& elementwise_generic<double>();

}  // namespace detail

namespace {

template <class T>
const detail::ElementwiseTable<T>& table() {
  return pick_isa(
      &detail::elementwise_generic<T>, &detail::elementwise_avx2<T>,
      &detail::elementwise_avx512<T>);
}

const char* op_name(UnaryOp op) {
  static constexpr const char* kNames[] = {
      "neg",     "exp",  "log",  "sqrt",   "abs",        "sign",  "relu",
      "sigmoid", "tanh", "silu", "square", "reciprocal", "floor", "isfinite"};
  return kNames[static_cast<int>(op)];
}
const char* op_name(ParamOp op) {
  static constexpr const char* kNames[] = {
      "clamp", "leaky_relu", "pow_scalar", "softplus", "affine"};
  return kNames[static_cast<int>(op)];
}
const char* op_name(BinaryOp op) {
  static constexpr const char* kNames[] = {
      "add", "sub", "mul", "div", "pow", "maximum", "minimum",
      "eq",  "ne",  "lt",  "le",  "gt",  "ge"};
  return kNames[static_cast<int>(op)];
}
const char* op_name(FusedOp op) {
  static constexpr const char* kNames[] = {
      "relu_backward",
      "leaky_relu_backward",
      "sigmoid_backward",
      "tanh_backward",
      "silu_backward",
      "softplus_backward",
      "binary_cross_entropy_with_logits",
      "binary_cross_entropy_with_logits_backward",
      "binary_cross_entropy",
      "binary_cross_entropy_backward",
      "mse_loss",
      "mse_loss_backward"};
  return kNames[static_cast<int>(op)];
}

int64_t nbytes(const Tensor& t) {
  return t.numel() * static_cast<int64_t>(itemsize(t.dtype()));
}

/// A new tensor of the inputs' broadcast shape, filled by `run(args)` with
/// the output as operand 0 and the inputs after it; one profiler event
/// named `name` (the bytes read and written).
template <class T, size_t K, class Run>
Tensor map(const char* name, const std::array<const Tensor*, K>& in, Run run) {
  profiler::Scope scope(name, profiler::Kind::Op);
  Shape shape = in[0]->shape();
  for (size_t k = 1; k < K; ++k)
    shape = broadcast_shapes(shape, in[k]->shape(), "elementwise");
  Tensor out = empty(shape, dtype_of<T>());
  std::array<Strides, K + 1> strides;
  strides[0] = out.strides();
  detail::MapArgs<T> args;
  args.out = out.mutable_data<T>();
  for (size_t k = 0; k < K; ++k) {
    args.in[k] = in[k]->template data<T>();
    strides[k + 1] = broadcast_strides(in[k]->shape(), in[k]->strides(), shape);
  }
  const RowLayout layout(shape, strides.data(), static_cast<int>(K + 1));
  args.plan = layout.plan();
  run(args);
  if (profiler::active()) {
    int64_t bytes = nbytes(out);
    for (size_t k = 0; k < K; ++k)
      bytes += nbytes(*in[k]);
    scope.add_bytes(bytes);
  }
  return out;
}

template <class S, class D>
void copy_t(const Tensor& src, const Tensor& dst) {
  const S* ps = src.data<S>();
  D* pd = dst.mutable_data<D>();
  const std::array<Strides, 2> strides{
      dst.strides(),
      broadcast_strides(src.shape(), src.strides(), dst.shape())};
  strided_rows<2>(
      dst.shape(), strides,
      [&](const int64_t* off, int64_t n, const int64_t* step) {
        D* o = pd + off[0];
        const S* s = ps + off[1];
        if constexpr (std::is_same_v<S, D>) {
          if (step[0] == 1 && step[1] == 1) {
            std::memcpy(o, s, static_cast<size_t>(n) * sizeof(D));
            return;
          }
        }
        if (step[0] == 1 && step[1] == 1) {
          for (int64_t j = 0; j < n; ++j)
            o[j] = static_cast<D>(s[j]);
        } else {
          for (int64_t j = 0; j < n; ++j)
            o[j * step[0]] = static_cast<D>(s[j * step[1]]);
        }
      });
}

}  // namespace

Tensor unary(UnaryOp op, const Tensor& x) {
  return dispatch(x.dtype(), [&]<class T>() {
    return map<T, 1>(op_name(op), {&x}, [&](const detail::MapArgs<T>& a) {
      table<T>().unary(op, a);
    });
  });
}

Tensor unary(ParamOp op, const Tensor& x, double a, double b) {
  return dispatch(x.dtype(), [&]<class T>() {
    return map<T, 1>(op_name(op), {&x}, [&](const detail::MapArgs<T>& args) {
      table<T>().param(op, args, a, b);
    });
  });
}

Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b) {
  VOXGRAD_ASSERT(a.dtype() == b.dtype());
  return dispatch(a.dtype(), [&]<class T>() {
    return map<T, 2>(
        op_name(op), {&a, &b},
        [&](const detail::MapArgs<T>& args) { table<T>().binary(op, args); });
  });
}

Tensor fused(FusedOp op, const std::vector<Tensor>& in, double a, double b) {
  const bool three = op == FusedOp::BceLogitsBackward ||
                     op == FusedOp::BceBackward || op == FusedOp::MseBackward;
  VOXGRAD_ASSERT(in.size() == (three ? 3u : 2u));
  for (const Tensor& t : in)
    VOXGRAD_ASSERT(t.dtype() == in[0].dtype());
  return dispatch(in[0].dtype(), [&]<class T>() {
    auto run = [&](const detail::MapArgs<T>& args) {
      table<T>().fused(op, args, a, b);
    };
    if (three)
      return map<T, 3>(op_name(op), {&in[0], &in[1], &in[2]}, run);
    return map<T, 2>(op_name(op), {&in[0], &in[1]}, run);
  });
}

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  VOXGRAD_ASSERT(a.dtype() == b.dtype() && cond.dtype() == a.dtype());
  return dispatch(a.dtype(), [&]<class T>() {
    return map<T, 3>(
        "where", {&cond, &a, &b},
        [&](const detail::MapArgs<T>& args) { table<T>().where(args); });
  });
}

void copy(const Tensor& src, const Tensor& dst) {
  profiler::Scope scope("copy", profiler::Kind::Op, nbytes(src) + nbytes(dst));
  if (src.dtype() == kInt64 || dst.dtype() == kInt64)
    return copy_int64(src, dst, "copy");  // voxgrad/core/kernels/integer.cpp
  dispatch(src.dtype(), [&]<class S>() {
    dispatch(dst.dtype(), [&]<class D>() { copy_t<S, D>(src, dst); });
  });
}

void fill(const Tensor& dst, double value) {
  profiler::Scope scope("fill", profiler::Kind::Op, nbytes(dst));
  if (dst.dtype() == kInt64)  // voxgrad/core/kernels/integer.cpp
    return fill_int64(dst, integral_value(value, "fill", "value"));
  dispatch(dst.dtype(), [&]<class T>() {
    T* p = dst.mutable_data<T>();
    const T v = static_cast<T>(value);
    const std::array<Strides, 1> strides{dst.strides()};
    strided_rows<1>(
        dst.shape(), strides,
        [&](const int64_t* off, int64_t n, const int64_t* step) {
          T* o = p + off[0];
          if (step[0] == 1) {
            std::fill(o, o + n, v);
            return;
          }
          for (int64_t j = 0; j < n; ++j)
            o[j * step[0]] = v;
        });
  });
}

}  // namespace voxgrad::kernels
