#pragma once
// The dynamic graph (flashlight / micrograd shape). Every differentiable op
// returns a tensor whose grad_fn is a Node: the node keeps one edge per input
// (the input's own grad_fn, or the accumulator of a leaf), the tensors its
// backward needs, and that backward, written with differentiable ops so that
// gradients of gradients work (create_graph). Each node has one output.

#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "voxgrad/autograd/op_list.hpp"
#include "voxgrad/core/tensor.hpp"
#include "voxgrad/export.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad::autograd {

/// What a backward function receives.
struct BackwardArgs {
  /// Gradient with respect to the op's output.
  const Tensor& grad;
  /// The op's output, re-attached to this node (only if record() saved it).
  const Tensor& out;
  /// needs[i]: input i wants a gradient in this sweep (skip the others).
  const std::vector<bool>& needs;
};

/// Returns one gradient per input (undefined where none). A gradient may have
/// the broadcast shape of the output: the engine reduces it to the input's
/// shape (the one place broadcasting is undone).
using BackwardFn = std::function<TensorList(const BackwardArgs&)>;

/// One recorded op of the autograd graph: its name, backward function, saved
/// tensors and edges to the nodes of its inputs (PyTorch's autograd::Node).
class Node : public std::enable_shared_from_this<Node> {
 public:
  explicit Node(const char* name);
  /// Iterative: releasing a 100 000-node chain does not recurse.
  virtual ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  const char* name() const {
    return name_;
  }
  /// Creation order; a valid topological order is decreasing sequence_nr.
  uint64_t sequence_nr() const {
    return sequence_nr_;
  }
  /// One entry per input: the node its gradient flows into (null: none).
  const std::vector<std::shared_ptr<Node>>& next() const {
    return next_;
  }
  const Shape& input_shape(size_t i) const {
    return input_shapes_[i];
  }
  Dtype input_dtype(size_t i) const {
    return input_dtypes_[i];
  }

  virtual TensorList apply(
      const Tensor& grad, const std::vector<bool>& needs) = 0;
  /// Frees saved tensors after a backward without retain_graph.
  virtual void release_saved() {}

 protected:
  friend Tensor record(
      Op, Tensor, const TensorList&, const TensorList&, BackwardFn, bool);
  void add_input(const Tensor& t, std::shared_ptr<Node> edge);

 private:
  const char* name_;
  uint64_t sequence_nr_;
  std::vector<std::shared_ptr<Node>> next_;
  std::vector<Shape> input_shapes_;
  std::vector<Dtype> input_dtypes_;
};

/// The sink of a leaf that requires grad: the engine adds what reaches it to
/// the leaf's .grad().
class AccumulateGrad final : public Node {
 public:
  explicit AccumulateGrad(const std::shared_ptr<TensorImpl>& leaf);
  TensorList apply(const Tensor& grad, const std::vector<bool>& needs) override;
  /// The leaf, or null if it is gone.
  std::shared_ptr<TensorImpl> leaf() const {
    return leaf_.lock();
  }

 private:
  std::weak_ptr<TensorImpl> leaf_;
};

/// The sequence number the next node will get: every node made after this
/// call has one at least as large.
uint64_t next_sequence_nr();

/// Where the gradient of `t` goes: its grad_fn, or (for a leaf that requires
/// grad) its accumulator, or null.
std::shared_ptr<Node> gradient_edge(const Tensor& t);

/// Makes `out` the result of op `op` applied to `inputs`, with backward `fn`,
/// when grad mode is on and some input requires grad; otherwise returns `out`
/// untouched. `inputs` may hold undefined tensors (e.g. no bias).
///
/// `saved` lists every tensor whose *values* `fn` reads (inputs it captured,
/// or tensors it computed): the node records their version counters (NOTE
/// [ Version counter ] in core/storage.hpp) and refuses to run `fn` if any
/// of them was written in place since, naming the tensor, the op and both
/// versions, instead of returning a wrong gradient. A backward that needs
/// only shapes saves nothing. With save_output the output is saved the same
/// way and handed back in BackwardArgs::out (capturing it inside `fn` would
/// be a reference cycle). tests/autograd/test_op_list.cpp writes into every
/// input of every op after its forward and checks that the backward either
/// refuses or is unaffected, so an op that forgets a saved tensor fails.
/// ```cpp nocompile
/// return record(Op::mul, kernels::binary(Mul, a, b), {a, b}, {a, b},
///               [a, b](const BackwardArgs& g) -> TensorList { ... });
/// ```
Tensor record(
    Op op,
    Tensor out,
    const TensorList& inputs,
    const TensorList& saved,
    BackwardFn fn,
    bool save_output = false);

/// Reverse-mode sweep from `outputs`, accumulating into leaves' .grad().
/// `grad_outputs` may be empty or hold undefined entries for scalar outputs.
void backward(
    const TensorList& outputs,
    const TensorList& grad_outputs = {},
    bool retain_graph = false,
    bool create_graph = false);

/// Gradients of `outputs` with respect to `inputs`, like torch.autograd.grad;
/// leaves' .grad() are left alone. retain_graph defaults to create_graph.
/// ```cpp
/// Tensor gx = autograd::grad({y}, {x}, {}, true)[0];  // differentiable
/// ```
TensorList grad(
    const TensorList& outputs,
    const TensorList& inputs,
    const TensorList& grad_outputs = {},
    bool create_graph = false,
    std::optional<bool> retain_graph = std::nullopt,
    bool allow_unused = false);

}  // namespace voxgrad::autograd

VOXGRAD_PUBLIC_END
