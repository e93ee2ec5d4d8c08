#include "voxgrad/autograd/node.hpp"

#include <atomic>

#include "voxgrad/core/grad_mode.hpp"

namespace voxgrad::autograd {
namespace {

std::atomic<uint64_t> g_next_sequence_nr{0};

/// A recorded op: its backward closure plus, optionally, its saved output.
class FunctionNode final : public Node {
 public:
  FunctionNode(Op op, BackwardFn fn) : Node(op_name(op)), fn_(std::move(fn)) {}

  void save_output(const Tensor& out) {
    saved_out_ = out.detach().impl();
  }

  TensorList apply(
      const Tensor& grad, const std::vector<bool>& needs) override {
    VOXGRAD_CHECK(
        fn_ != nullptr, "backward: trying to backward through '", name(),
        "' a second time, but its saved tensors were freed after the first "
        "backward (pass retain_graph=true to the first backward or "
        "autograd::grad if you need to backward twice)");
    Tensor out;
    if (saved_out_) {
      // The output, re-attached to this node: differentiating through it in
      // a create_graph sweep reaches this node's inputs, as it must.
      auto impl = std::make_shared<TensorImpl>(*saved_out_);
      impl->grad_fn = shared_from_this();
      impl->requires_grad = true;
      out = Tensor(std::move(impl));
    }
    return fn_(BackwardArgs{grad, out, needs});
  }

  void release_saved() override {
    fn_ = nullptr;
    saved_out_.reset();
  }

 private:
  BackwardFn fn_;
  std::shared_ptr<TensorImpl> saved_out_;
};

}  // namespace

Node::Node(const char* name)
    : name_(name), sequence_nr_(g_next_sequence_nr.fetch_add(1)) {}

Node::~Node() {
  // Release the chain behind this node with an explicit stack: a node that
  // only we hold hands its edges to the stack before it dies, so no
  // destructor ever recurses. (Saved tensors of a node refer to the same
  // nodes as its edges, which are still on the stack when they are dropped.)
  std::vector<std::shared_ptr<Node>> stack = std::move(next_);
  while (!stack.empty()) {
    std::shared_ptr<Node> n = std::move(stack.back());
    stack.pop_back();
    if (n && n.use_count() == 1) {
      for (auto& e : n->next_)
        stack.push_back(std::move(e));
      n->next_.clear();
    }
  }
}

void Node::add_input(const Tensor& t, std::shared_ptr<Node> edge) {
  if (t.defined()) {
    next_.push_back(std::move(edge));
    input_shapes_.push_back(t.shape());
    input_dtypes_.push_back(t.dtype());
  } else {
    next_.push_back(nullptr);
    input_shapes_.emplace_back();
    input_dtypes_.push_back(kFloat32);
  }
}

AccumulateGrad::AccumulateGrad(const std::shared_ptr<TensorImpl>& leaf)
    : Node("accumulate_grad"), leaf_(leaf) {}

TensorList AccumulateGrad::apply(const Tensor&, const std::vector<bool>&) {
  return {};  // the engine accumulates; a leaf has no inputs
}

std::shared_ptr<Node> gradient_edge(const Tensor& t) {
  const auto& impl = t.impl();
  if (impl->grad_fn)
    return impl->grad_fn;
  if (!impl->requires_grad)
    return nullptr;
  std::shared_ptr<Node> acc = impl->grad_accumulator.lock();
  if (!acc) {
    acc = std::make_shared<AccumulateGrad>(impl);
    impl->grad_accumulator = acc;
  }
  return acc;
}

Tensor record(
    Op op,
    Tensor out,
    const TensorList& inputs,
    BackwardFn fn,
    bool save_output) {
  if (!GradMode::is_enabled())
    return out;
  bool any = false;
  for (const Tensor& t : inputs) {
    any = any || (t.defined() && t.requires_grad());
    VOXGRAD_ASSERT(!t.defined() || t.impl() != out.impl());
  }
  if (!any)
    return out;
  // Edges first: a leaf's accumulator made here must get a smaller sequence
  // number than the node, since the engine orders nodes by it.
  std::vector<std::shared_ptr<Node>> edges;
  for (const Tensor& t : inputs)
    edges.push_back(t.defined() ? gradient_edge(t) : nullptr);
  auto node = std::make_shared<FunctionNode>(op, std::move(fn));
  for (size_t i = 0; i < inputs.size(); ++i)
    node->add_input(inputs[i], std::move(edges[i]));
  if (save_output)
    node->save_output(out);
  out.impl()->grad_fn = std::move(node);
  out.impl()->requires_grad = true;
  return out;
}

}  // namespace voxgrad::autograd
