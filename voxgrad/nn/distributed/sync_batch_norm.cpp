#include "voxgrad/nn/distributed/sync_batch_norm.hpp"

#include "voxgrad/autograd/node.hpp"
#include "voxgrad/autograd/ops.hpp"
#include "voxgrad/core/grad_mode.hpp"

namespace voxgrad::distributed {
namespace {

// A node of its own rather than an entry of voxgrad/autograd/ops.def: the core
// library cannot call MPI, and its gradcheck walk of ops.def runs in one
// process. Its backward is all_reduce_sum again, written with the
// differentiable function, so double backward works as for the core ops.
class AllReduceSumNode final : public autograd::Node {
 public:
  AllReduceSumNode(
      const Communicator& comm,
      const Tensor& x,
      std::shared_ptr<autograd::Node> edge)
      : Node("all_reduce_sum"), comm_(comm) {
    add_input(x, std::move(edge));
  }

  TensorList apply(const Tensor& grad, const std::vector<bool>&) override {
    return {all_reduce_sum(grad, comm_)};
  }

 private:
  const Communicator& comm_;
};

}  // namespace

Tensor all_reduce_sum(const Tensor& x, const Communicator& comm) {
  VOXGRAD_CHECK(x.defined(), "all_reduce_sum: the input is undefined");
  Tensor out = x.detach().contiguous().clone();
  comm.all_reduce_sum_(out);
  if (autograd::GradMode::is_enabled() && x.requires_grad()) {
    // The edge first: the engine orders nodes by creation, inputs' first.
    std::shared_ptr<autograd::Node> edge = autograd::gradient_edge(x);
    out.impl()->grad_fn =
        std::make_shared<AllReduceSumNode>(comm, x, std::move(edge));
    out.impl()->requires_grad = true;
  }
  return out;
}

SyncBatchNorm3dImpl::SyncBatchNorm3dImpl(
    const nn::BatchNorm3dOptions& options, const Communicator& comm)
    : nn::BatchNorm3dImpl(options), comm_(comm) {}

Tensor SyncBatchNorm3dImpl::forward(const Tensor& x) {
  const nn::BatchNorm3dOptions& o = options();
  const int64_t c = o.num_features();
  VOXGRAD_CHECK(x.defined(), "SyncBatchNorm3d: the input is undefined");
  VOXGRAD_CHECK(
      x.dim() == 5 && x.size(1) == c,
      "SyncBatchNorm3d: expected a 5-D input (N, C, D, H, W) with C = ", c,
      ", got ", shape_str(x.shape()));
  const Tensor& like = o.affine() ? weight() : running_mean();
  VOXGRAD_CHECK(
      !like.defined() || like.dtype() == x.dtype(), "SyncBatchNorm3d: the ",
      "input is ", dtype_name(x.dtype()), " but the module holds ",
      dtype_name(like.dtype()),
      "; convert the input with .to(...) or the module with .to(dtype)");
  if (!is_training() || comm_.size() == 1)
    return nn::BatchNorm3dImpl::forward(x);

  // Values per channel over all ranks (ranks may hold different batch
  // sizes, even none).
  double count[1] = {static_cast<double>(x.numel() / c)};
  comm_.all_reduce_sum(count);
  const double n = count[0];
  VOXGRAD_CHECK(
      n > 1,
      "SyncBatchNorm3d: expected more than 1 value per channel over all ranks "
      "when training, got ",
      n, " (input ", shape_str(x.shape()), " on rank ", comm_.rank(), ")");

  // Two passes, as nn::functional::batch_norm, with the sums taken over the
  // ranks: mean first, then the variance about it.
  const std::vector<int64_t> axes{0, 2, 3, 4};
  const Tensor mean = all_reduce_sum(x.sum(axes, true), comm_) / n;
  const Tensor centered = x - mean;
  const Tensor var =
      all_reduce_sum((centered * centered).sum(axes, true), comm_) / n;

  if (o.track_running_stats()) {
    NoGradGuard no_grad;
    Tensor tracked = num_batches_tracked();
    const double batches = tracked.item() + 1;
    tracked.fill_(batches);
    const double f = o.momentum() ? *o.momentum() : 1.0 / batches;
    Tensor rm = running_mean(), rv = running_var();
    rm.copy_(rm * (1 - f) + mean.reshape({c}) * f);
    // The running variance is the unbiased one (PyTorch), over all ranks.
    rv.copy_(rv * (1 - f) + var.reshape({c}) * (f * n / (n - 1)));
  }
  Tensor scale = 1.0 / sqrt(var + o.eps());
  if (o.affine())
    scale = scale * weight().reshape({1, c, 1, 1, 1});
  Tensor y = centered * scale;
  return o.affine() ? y + bias().reshape({1, c, 1, 1, 1}) : y;
}

}  // namespace voxgrad::distributed
