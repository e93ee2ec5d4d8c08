// Broadcasting arithmetic, comparisons and where(), forward and backward side
// by side. Gradients are returned in the broadcast shape; the engine sums
// them back to each input's shape.

#include "voxgrad/autograd/node.hpp"
#include "voxgrad/autograd/ops.hpp"
#include "voxgrad/core/kernels/elementwise.hpp"

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

Tensor scalar_like(double v, const Tensor& t) {
  return scalar_tensor(v, t.dtype());
}

Tensor compare(
    const char* op, BinaryOp kind, const Tensor& a, const Tensor& b) {
  check_operands(op, a, b);
  return kernels::binary(kind, a, b);
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  check_operands("add", a, b);
  return record(
      Op::add, kernels::binary(BinaryOp::Add, a, b), {a, b}, {},
      [](const BackwardArgs& g) -> TensorList {
        return {g.grad, g.grad};
      });
}

Tensor sub(const Tensor& a, const Tensor& b) {
  check_operands("sub", a, b);
  return record(
      Op::sub, kernels::binary(BinaryOp::Sub, a, b), {a, b}, {},
      [](const BackwardArgs& g) -> TensorList {
        return {g.grad, g.needs[1] ? -g.grad : Tensor()};
      });
}

Tensor mul(const Tensor& a, const Tensor& b) {
  check_operands("mul", a, b);
  return record(
      Op::mul, kernels::binary(BinaryOp::Mul, a, b), {a, b}, {a, b},
      [a, b](const BackwardArgs& g) -> TensorList {
        return {
            g.needs[0] ? g.grad * b : Tensor(),
            g.needs[1] ? g.grad * a : Tensor()};
      });
}

Tensor div(const Tensor& a, const Tensor& b) {
  check_operands("div", a, b);
  return record(
      Op::div, kernels::binary(BinaryOp::Div, a, b), {a, b}, {a, b},
      [a, b](const BackwardArgs& g) -> TensorList {
        const Tensor ga = g.grad / b;
        return {ga, g.needs[1] ? -(ga * a) / b : Tensor()};
      });
}

Tensor pow(const Tensor& a, const Tensor& b) {
  check_operands("pow", a, b);
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
  check_operands("maximum", a, b);
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
  check_operands("minimum", a, b);
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
  check_operands("where", a, b);
  VOXGRAD_CHECK(cond.defined(), "where: cond is undefined");
  VOXGRAD_CHECK(
      cond.dtype() == a.dtype(), "where: cond must have the operands' dtype ",
      dtype_name(a.dtype()), " (got ", dtype_name(cond.dtype()), ")");
  broadcast_shapes(
      broadcast_shapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
  const Tensor c = cond.detach();
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
  return add(a, scalar_like(b, a));
}
Tensor operator-(const Tensor& a, double b) {
  return sub(a, scalar_like(b, a));
}
Tensor operator*(const Tensor& a, double b) {
  return mul(a, scalar_like(b, a));
}
Tensor operator/(const Tensor& a, double b) {
  return div(a, scalar_like(b, a));
}
Tensor operator+(double a, const Tensor& b) {
  return add(scalar_like(a, b), b);
}
Tensor operator-(double a, const Tensor& b) {
  return sub(scalar_like(a, b), b);
}
Tensor operator*(double a, const Tensor& b) {
  return mul(scalar_like(a, b), b);
}
Tensor operator/(double a, const Tensor& b) {
  return div(scalar_like(a, b), b);
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
  return gt(a, scalar_like(b, a));
}
Tensor lt(const Tensor& a, double b) {
  return lt(a, scalar_like(b, a));
}
Tensor ge(const Tensor& a, double b) {
  return ge(a, scalar_like(b, a));
}
Tensor le(const Tensor& a, double b) {
  return le(a, scalar_like(b, a));
}
Tensor eq(const Tensor& a, double b) {
  return eq(a, scalar_like(b, a));
}

}  // namespace voxgrad
