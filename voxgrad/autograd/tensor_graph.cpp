// The Tensor methods that need the graph itself (voxgrad/core/ declares them
// but knows nothing of autograd::Node, as PyTorch's c10 knows nothing of
// torch::autograd).

#include "voxgrad/autograd/node.hpp"
#include "voxgrad/core/tensor.hpp"

namespace voxgrad {

const Tensor& Tensor::requires_grad_(bool enabled) const {
  const TensorImpl& t = checked();
  VOXGRAD_CHECK(
      t.grad_fn == nullptr || enabled,
      "requires_grad_: only leaf tensors can change requires_grad; this one "
      "was made by '",
      t.grad_fn ? t.grad_fn->name() : "", "' (use detach() to get a leaf)");
  VOXGRAD_CHECK(
      !enabled || is_floating_point(t.dtype), "requires_grad_: only float32 ",
      "and float64 tensors can require gradients (got an int64 tensor ",
      shape_str(t.shape),
      "; int64 holds indices and labels, which have no gradient)");
  impl_->requires_grad = enabled;
  return *this;
}

void Tensor::backward(
    const Tensor& grad, bool retain_graph, bool create_graph) const {
  autograd::backward({*this}, {grad}, retain_graph, create_graph);
}

const char* Tensor::grad_fn_name() const {
  const auto& fn = grad_fn();
  return fn ? fn->name() : nullptr;
}

}  // namespace voxgrad
