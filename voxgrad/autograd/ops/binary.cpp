// Broadcasting arithmetic, comparisons and where(), forward and backward side
// by side. Gradients are returned in the broadcast shape; the engine sums
// them back to each input's shape.

#include "voxgrad/autograd/node.hpp"
#include "voxgrad/autograd/ops.hpp"
#include "voxgrad/core/kernels/elementwise.hpp"
#include "voxgrad/core/kernels/integer.hpp"

namespace voxgrad {

using autograd::BackwardArgs;
using autograd::Op;
using autograd::record;
using kernels::BinaryOp;

namespace {

void check_operands(const char* op, const Tensor& a, const Tensor& b) {
  VOXGRAD_CHECK(a.defined() && b.defined(), op, ": an operand is undefined");
  VOXGRAD_CHECK(
      a.dtype() == b.dtype(), op, ": operands must have one dtype (got ",
      dtype_name(a.dtype()), " ", shape_str(a.shape()), " and ",
      dtype_name(b.dtype()), " ", shape_str(b.shape()),
      "); convert one with .to(...)");
  broadcast_shapes(a.shape(), b.shape(), op);
}

/// Arithmetic is defined on float32 and float64 only.
void check_arithmetic(const char* op, const Tensor& a, const Tensor& b) {
  check_operands(op, a, b);
  require_floating(a.dtype(), op, "the operands' dtype");
}

Tensor scalar_like(double v, const Tensor& t) {
  return scalar_tensor(v, t.dtype());
}

Tensor compare(
    const char* op, BinaryOp kind, const Tensor& a, const Tensor& b) {
  check_operands(op, a, b);
  if (a.dtype() == kInt64)
    return kernels::compare_int64(kind, a, b);
  return kernels::binary(kind, a, b);
}

/// The scalar operand of `a op t` or `t op a`, in t's dtype (float only).
Tensor arithmetic_scalar(const char* op, double v, const Tensor& t) {
  VOXGRAD_CHECK(t.defined(), op, ": an operand is undefined");
  require_floating(t.dtype(), op, "the tensor operand");
  return scalar_like(v, t);
}

/// The scalar of a comparison, in a's dtype. An int64 tensor compared with
/// 2.5 is refused rather than compared with a truncated 2.
Tensor compare_scalar(const char* op, double v, const Tensor& a) {
  VOXGRAD_CHECK(a.defined(), op, ": an operand is undefined");
  if (a.dtype() == kInt64)
    integral_value(v, op, "the scalar compared with an int64 tensor");
  return scalar_like(v, a);
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  check_arithmetic("add", a, b);
  return record(
      Op::add, kernels::binary(BinaryOp::Add, a, b), {a, b}, {},
      [](const BackwardArgs& g) -> TensorList {
        return {g.grad, g.grad};
      });
}

Tensor sub(const Tensor& a, const Tensor& b) {
  check_arithmetic("sub", a, b);
  return record(
      Op::sub, kernels::binary(BinaryOp::Sub, a, b), {a, b}, {},
      [](const BackwardArgs& g) -> TensorList {
        return {g.grad, g.needs[1] ? -g.grad : Tensor()};
      });
}

Tensor mul(const Tensor& a, const Tensor& b) {
  check_arithmetic("mul", a, b);
  return record(
      Op::mul, kernels::binary(BinaryOp::Mul, a, b), {a, b}, {a, b},
      [a, b](const BackwardArgs& g) -> TensorList {
        return {
            g.needs[0] ? g.grad * b : Tensor(),
            g.needs[1] ? g.grad * a : Tensor()};
      });
}

Tensor div(const Tensor& a, const Tensor& b) {
  check_arithmetic("div", a, b);
  return record(
      Op::div, kernels::binary(BinaryOp::Div, a, b), {a, b}, {a, b},
      [a, b](const BackwardArgs& g) -> TensorList {
        const Tensor ga = g.grad / b;
        return {ga, g.needs[1] ? -(ga * a) / b : Tensor()};
      });
}

Tensor pow(const Tensor& a, const Tensor& b) {
  check_arithmetic("pow", a, b);
  return record(
      Op::pow, kernels::binary(BinaryOp::Pow, a, b), {a, b}, {a, b},
      [a, b](const BackwardArgs& g) -> TensorList {
        Tensor ga, gb;
        if (g.needs[0])
          ga = g.grad * b * pow(a, b - 1.0);
        if (g.needs[1]) {
          // d/db a^b = a^b log a, taken as 0 where a == 0 and b >= 0 (the
          // limit PyTorch uses), so 0^b does not poison the gradient.
          const Tensor at_zero = eq(a, 0.0) * ge(b, 0.0);
          gb = where(at_zero, scalar_like(0, a), g.grad * g.out * log(a));
        }
        return {ga, gb};
      },
      /*save_output=*/true);
}

Tensor maximum(const Tensor& a, const Tensor& b) {
  check_arithmetic("maximum", a, b);
  return record(
      Op::maximum, kernels::binary(BinaryOp::Maximum, a, b), {a, b}, {a, b},
      [a, b](const BackwardArgs& g) -> TensorList {
        const Tensor tie = eq(a, b) * 0.5;
        return {
            g.needs[0] ? g.grad * (gt(a, b) + tie) : Tensor(),
            g.needs[1] ? g.grad * (lt(a, b) + tie) : Tensor()};
      });
}

Tensor minimum(const Tensor& a, const Tensor& b) {
  check_arithmetic("minimum", a, b);
  return record(
      Op::minimum, kernels::binary(BinaryOp::Minimum, a, b), {a, b}, {a, b},
      [a, b](const BackwardArgs& g) -> TensorList {
        const Tensor tie = eq(a, b) * 0.5;
        return {
            g.needs[0] ? g.grad * (lt(a, b) + tie) : Tensor(),
            g.needs[1] ? g.grad * (gt(a, b) + tie) : Tensor()};
      });
}

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  check_arithmetic("where", a, b);
  VOXGRAD_CHECK(cond.defined(), "where: cond is undefined");
  VOXGRAD_CHECK(
      cond.dtype() == a.dtype() || cond.dtype() == kInt64,
      "where: cond must have the operands' dtype ", dtype_name(a.dtype()),
      " or be an int64 mask (got ", dtype_name(cond.dtype()), ")");
  broadcast_shapes(
      broadcast_shapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
  // An int64 mask becomes 0/1 in the operands' dtype (any non-zero int64 is
  // a non-zero float, so the selection is unchanged).
  const Tensor c = cond.detach().to(a.dtype());
  return record(
      Op::where, kernels::where(c, a, b), {a, b}, {c},
      [c](const BackwardArgs& g) -> TensorList {
        const Tensor zero = scalar_like(0, g.grad);
        return {
            g.needs[0] ? where(c, g.grad, zero) : Tensor(),
            g.needs[1] ? where(c, zero, g.grad) : Tensor()};
      });
}

Tensor operator+(const Tensor& a, const Tensor& b) {
  return add(a, b);
}
Tensor operator-(const Tensor& a, const Tensor& b) {
  return sub(a, b);
}
Tensor operator*(const Tensor& a, const Tensor& b) {
  return mul(a, b);
}
Tensor operator/(const Tensor& a, const Tensor& b) {
  return div(a, b);
}
Tensor operator+(const Tensor& a, double b) {
  return add(a, arithmetic_scalar("add", b, a));
}
Tensor operator-(const Tensor& a, double b) {
  return sub(a, arithmetic_scalar("sub", b, a));
}
Tensor operator*(const Tensor& a, double b) {
  return mul(a, arithmetic_scalar("mul", b, a));
}
Tensor operator/(const Tensor& a, double b) {
  return div(a, arithmetic_scalar("div", b, a));
}
Tensor operator+(double a, const Tensor& b) {
  return add(arithmetic_scalar("add", a, b), b);
}
Tensor operator-(double a, const Tensor& b) {
  return sub(arithmetic_scalar("sub", a, b), b);
}
Tensor operator*(double a, const Tensor& b) {
  return mul(arithmetic_scalar("mul", a, b), b);
}
Tensor operator/(double a, const Tensor& b) {
  return div(arithmetic_scalar("div", a, b), b);
}
Tensor operator-(const Tensor& a) {
  return neg(a);
}

Tensor eq(const Tensor& a, const Tensor& b) {
  return compare("eq", BinaryOp::Eq, a, b);
}
Tensor ne(const Tensor& a, const Tensor& b) {
  return compare("ne", BinaryOp::Ne, a, b);
}
Tensor lt(const Tensor& a, const Tensor& b) {
  return compare("lt", BinaryOp::Lt, a, b);
}
Tensor le(const Tensor& a, const Tensor& b) {
  return compare("le", BinaryOp::Le, a, b);
}
Tensor gt(const Tensor& a, const Tensor& b) {
  return compare("gt", BinaryOp::Gt, a, b);
}
Tensor ge(const Tensor& a, const Tensor& b) {
  return compare("ge", BinaryOp::Ge, a, b);
}
Tensor gt(const Tensor& a, double b) {
  return gt(a, compare_scalar("gt", b, a));
}
Tensor lt(const Tensor& a, double b) {
  return lt(a, compare_scalar("lt", b, a));
}
Tensor ge(const Tensor& a, double b) {
  return ge(a, compare_scalar("ge", b, a));
}
Tensor le(const Tensor& a, double b) {
  return le(a, compare_scalar("le", b, a));
}
Tensor eq(const Tensor& a, double b) {
  return eq(a, compare_scalar("eq", b, a));
}

}  // namespace voxgrad
