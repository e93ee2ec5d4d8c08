#pragma once
// The backward formulas of the pointwise activations as ops of their own
// (PyTorch's threshold_backward, sigmoid_backward, ... in aten): each is one
// fused kernel pass (kernels::fused) instead of a chain of elementwise ops
// with temporaries, and each has a backward written with differentiable
// ops, so the activations keep derivatives of every order (gradient
// penalties differentiate a gradient). voxgrad/autograd/ops/unary.cpp's
// backwards call them; users rarely need to.

#include "voxgrad/core/tensor.hpp"
#include "voxgrad/export.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad {

/// grad where out > 0, else 0 (out: relu's output).
Tensor relu_backward(const Tensor& grad, const Tensor& out);
/// grad where x > 0, else grad * negative_slope.
Tensor leaky_relu_backward(
    const Tensor& grad, const Tensor& x, double negative_slope);
/// grad * (1 - out) * out (out: sigmoid's output).
Tensor sigmoid_backward(const Tensor& grad, const Tensor& out);
/// grad * (1 - out^2) (out: tanh's output).
Tensor tanh_backward(const Tensor& grad, const Tensor& out);
/// grad * s * (1 + x (1 - s)), s = sigmoid(x).
Tensor silu_backward(const Tensor& grad, const Tensor& x);
/// grad where beta x > threshold, else grad * sigmoid(beta x).
Tensor softplus_backward(
    const Tensor& grad, const Tensor& x, double beta, double threshold);

}  // namespace voxgrad

VOXGRAD_PUBLIC_END
