#include "voxgrad/autograd/node.hpp"

#include <atomic>
#include <string>

#include "voxgrad/core/grad_mode.hpp"
#include "voxgrad/core/profiler.hpp"

namespace voxgrad::autograd {
namespace {

std::atomic<uint64_t> g_next_sequence_nr{0};

/// A tensor a backward reads, as it was when the forward saved it: which
/// storage and which version of it (NOTE [ Version counter ]).
struct SavedVersion {
  std::shared_ptr<TensorImpl> impl;  // the handle the backward reads through
  const Storage* storage;
  uint64_t version;
  std::string role;  // "input 1", "its output", "a tensor it computed"
};

SavedVersion snapshot(const Tensor& t, std::string role) {
  return {t.impl(), t.impl()->storage.get(), t.version(), std::move(role)};
}

/// A recorded op: its backward closure plus, optionally, its saved output.
class FunctionNode final : public Node {
 public:
  FunctionNode(Op op, BackwardFn fn) : Node(op_name(op)), fn_(std::move(fn)) {}

  void save(const Tensor& t, std::string role) {
    saved_.push_back(snapshot(t, std::move(role)));
  }

  void save_output(const Tensor& out) {
    // A detached copy: it shares the storage (and its version counter) but
    // not the grad_fn, so the node does not keep itself alive.
    saved_out_ = out.detach().impl();
    saved_out_version_ = out.version();
  }

  TensorList apply(
      const Tensor& grad, const std::vector<bool>& needs) override {
    VOXGRAD_CHECK(
        fn_ != nullptr, "backward: trying to backward through '", name(),
        "' a second time, but its saved tensors were freed after the first "
        "backward (pass retain_graph=true to the first backward or "
        "autograd::grad if you need to backward twice)");
    check_versions();
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
    saved_.clear();
    saved_out_.reset();
  }

 private:
  // Refuses to differentiate through values that changed after the forward
  // read them (PyTorch's "one of the variables needed for gradient
  // computation has been modified by an inplace operation").
  void check_versions() const {
    for (size_t i = 0; i < saved_.size(); ++i)
      check_one(saved_[i], i);
    if (saved_out_) {
      check_one(
          {saved_out_, saved_out_->storage.get(), saved_out_version_,
           "its output"},
          saved_.size());
    }
  }

  void check_one(const SavedVersion& s, size_t index) const {
    const TensorImpl& t = *s.impl;
    const size_t total = saved_.size() + (saved_out_ ? 1 : 0);
    VOXGRAD_CHECK(
        t.storage.get() == s.storage, "backward through '", name(),
        "': saved tensor ", index, " of ", total, " (", s.role, ", ",
        dtype_name(t.dtype), " ", shape_str(t.shape),
        ") had its storage replaced after the forward (e.g. by Module::to() "
        "or load_state_dict() on a parameter), so the values its gradient "
        "needs are gone; run the forward again after changing the tensor");
    const uint64_t now = t.storage->version();
    VOXGRAD_CHECK(
        now == s.version, "backward through '", name(),
        "': one of the tensors needed for its gradient has been modified by "
        "an in-place operation: saved tensor ",
        index, " of ", total, " (", s.role, ", ", dtype_name(t.dtype), " ",
        shape_str(t.shape), ") is at version ", now, "; expected version ",
        s.version,
        " (as the forward saw it). In-place writes (fill_, zero_, copy_, "
        "mutable_data, optimizer steps, load_state_dict), also through a view "
        "or detach() of it, must come after backward; or write to a clone()");
  }

  BackwardFn fn_;
  std::vector<SavedVersion> saved_;
  std::shared_ptr<TensorImpl> saved_out_;
  uint64_t saved_out_version_ = 0;
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

uint64_t next_sequence_nr() {
  return g_next_sequence_nr.load();
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
    const TensorList& saved,
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
  // An input requires grad, so it is floating point; an op that makes int64
  // from it (argmax, to(kInt64)) must not record: int64 has no gradient.
  VOXGRAD_ASSERT(is_floating_point(out.dtype()));
  // Edges first: a leaf's accumulator made here must get a smaller sequence
  // number than the node, since the engine orders nodes by it.
  std::vector<std::shared_ptr<Node>> edges;
  for (const Tensor& t : inputs)
    edges.push_back(t.defined() ? gradient_edge(t) : nullptr);
  auto node = std::make_shared<FunctionNode>(op, std::move(fn));
  for (size_t i = 0; i < inputs.size(); ++i)
    node->add_input(inputs[i], std::move(edges[i]));
  for (const Tensor& t : saved) {
    if (!t.defined())
      continue;
    VOXGRAD_ASSERT(t.impl() != out.impl());  // use save_output for that
    std::string role = "a tensor it read that is not a differentiable input";
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (inputs[i].defined() && inputs[i].impl() == t.impl()) {
        role = detail::concat("input ", i);
        break;
      }
    }
    node->save(t, std::move(role));
  }
  if (save_output)
    node->save_output(out);
  if (profiler::active())  // its backward is charged to the running module
    profiler::remember_module(node.get());
  out.impl()->grad_fn = std::move(node);
  out.impl()->requires_grad = true;
  return out;
}

}  // namespace voxgrad::autograd
