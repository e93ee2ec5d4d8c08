// The backward engine: collect the nodes reachable from the outputs with an
// explicit stack (no recursion depth limit), order them by decreasing
// sequence number (a node is always created after the nodes of its inputs),
// mark the ones that lead to a wanted gradient, then walk them once, summing
// the gradients that reach each node before running it.

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "voxgrad/autograd/hooks.hpp"
#include "voxgrad/autograd/node.hpp"
#include "voxgrad/autograd/ops.hpp"
#include "voxgrad/core/grad_mode.hpp"
#include "voxgrad/core/profiler.hpp"

namespace voxgrad::autograd {
namespace {

/// Undoes broadcasting: sums `g` down to `shape`. The one place it happens.
Tensor reduce_to(
    const Tensor& g, const Shape& shape, const Node& node, size_t i) {
  if (g.shape() == shape)
    return g;
  VOXGRAD_CHECK(
      is_broadcastable_to(shape, g.shape()), "backward: op '", node.name(),
      "' returned a gradient of shape ", shape_str(g.shape()), " for input ", i,
      " of shape ", shape_str(shape),
      " (a gradient must have the input's shape or broadcast from it)");
  const size_t lead = g.shape().size() - shape.size();
  std::vector<int64_t> axes;
  for (size_t a = 0; a < g.shape().size(); ++a) {
    if (a < lead || (shape[a - lead] == 1 && g.shape()[a] != 1))
      axes.push_back(static_cast<int64_t>(a));
  }
  return g.sum(axes, /*keepdim=*/true).reshape(shape);
}

struct Sweep {
  std::vector<Node*> order;  // reachable nodes, decreasing sequence number
  std::unordered_map<Node*, bool> needed;
};

Sweep plan(
    const std::vector<Node*>& roots,
    const std::unordered_set<Node*>& targets,
    bool all_leaves) {
  Sweep s;
  std::unordered_set<Node*> seen;
  std::vector<Node*> stack;
  for (Node* r : roots) {
    if (seen.insert(r).second)
      stack.push_back(r);
  }
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    s.order.push_back(n);
    for (const auto& e : n->next()) {
      if (e && seen.insert(e.get()).second)
        stack.push_back(e.get());
    }
  }
  std::sort(s.order.begin(), s.order.end(), [](Node* a, Node* b) {
    return a->sequence_nr() > b->sequence_nr();
  });
  // Inputs before users: a node is needed if it is a target or feeds one.
  for (auto it = s.order.rbegin(); it != s.order.rend(); ++it) {
    Node* n = *it;
    bool need = targets.count(n) > 0 ||
                (all_leaves && dynamic_cast<AccumulateGrad*>(n) != nullptr);
    for (const auto& e : n->next())
      need = need || (e && s.needed[e.get()]);
    s.needed[n] = need;
  }
  return s;
}

void accumulate_into_leaf(
    const AccumulateGrad& acc, Tensor g, bool create_graph) {
  const std::shared_ptr<TensorImpl> leaf = acc.leaf();
  if (!leaf)
    return;  // the leaf is gone: nobody can read its gradient
  const Tensor old = leaf->grad;
  if (create_graph) {
    leaf->grad = old.defined() ? old + g : g;
    return;
  }
  if (old.defined()) {
    leaf->grad = (old + g).detach();
  } else {
    // Another handle (another leaf's grad, a user's tensor) may share g.
    const bool exclusive = g.impl().use_count() == 1 &&
                           g.impl()->storage.use_count() == 1 &&
                           g.is_contiguous();
    leaf->grad = exclusive ? g.detach() : g.detach().clone();
  }
}

/// Runs one sweep. With `capture`, returns the gradients reaching those nodes
/// (in order) and leaves .grad() alone; otherwise accumulates into leaves.
TensorList run(
    const TensorList& outputs,
    const TensorList& grad_outputs,
    bool keep_graph,
    bool create_graph,
    const std::vector<std::shared_ptr<Node>>* capture) {
  VOXGRAD_CHECK(
      grad_outputs.empty() || grad_outputs.size() == outputs.size(),
      "backward: got ", grad_outputs.size(), " grad_outputs for ",
      outputs.size(), " outputs (give one per output, or none)");
  std::unordered_map<Node*, Tensor> buffer;
  std::vector<Node*> roots;
  AutoGradMode mode(create_graph);
  for (size_t i = 0; i < outputs.size(); ++i) {
    const Tensor& y = outputs[i];
    VOXGRAD_CHECK(y.defined(), "backward: output ", i, " is undefined");
    const std::shared_ptr<Node> edge = gradient_edge(y);
    VOXGRAD_CHECK(
        edge != nullptr, "backward: output ", i,
        " does not require grad and has no grad_fn (did you forget "
        "requires_grad_() on an input, or compute it under NoGradGuard?)");
    Tensor g = grad_outputs.empty() ? Tensor() : grad_outputs[i];
    if (!g.defined()) {
      VOXGRAD_CHECK(
          y.numel() == 1, "backward: a gradient can be implied only for ",
          "one-element outputs, but output ", i, " has shape ",
          shape_str(y.shape()), " (pass grad_outputs)");
      g = ones(y.shape(), y.dtype());
    }
    VOXGRAD_CHECK(
        g.shape() == y.shape() && g.dtype() == y.dtype(),
        "backward: ", "grad_outputs[", i, "] must match output ", i,
        " (expected ", dtype_name(y.dtype()), " ", shape_str(y.shape()),
        ", got ", dtype_name(g.dtype()), " ", shape_str(g.shape()), ")");
    auto [it, fresh] = buffer.try_emplace(edge.get(), g);
    if (!fresh)
      it->second = it->second + g;
    roots.push_back(edge.get());
  }

  std::unordered_set<Node*> targets;
  if (capture) {
    for (const auto& c : *capture)
      targets.insert(c.get());
  }
  const Sweep sweep = plan(roots, targets, capture == nullptr);
  std::unordered_map<Node*, Tensor> captured;

  // Kernels run from here on report phase "backward" to the profiler.
  const profiler::BackwardPhase backward_phase;
  for (Node* n : sweep.order) {
    if (!sweep.needed.at(n))
      continue;
    auto it = buffer.find(n);
    if (it == buffer.end())
      continue;  // no gradient flowed here
    Tensor g = std::move(it->second);
    buffer.erase(it);
    if (targets.count(n))
      captured[n] = g;
    if (auto* acc = dynamic_cast<AccumulateGrad*>(n)) {
      if (!capture) {
        accumulate_into_leaf(*acc, std::move(g), create_graph);
        detail::run_post_accumulate_grad_hooks(*acc);
      }
      continue;
    }
    const auto& next = n->next();
    std::vector<bool> needs(next.size());
    bool any = false;
    for (size_t i = 0; i < next.size(); ++i) {
      needs[i] = next[i] && sweep.needed.at(next[i].get());
      any = any || needs[i];
    }
    if (any) {
      // Only a node that runs frees what it saved: a capture target of
      // autograd::grad (an intermediate tensor's node) is not run, and a
      // later sweep through it (a checkpointed block's recomputation
      // reaching the previous block's node) still needs it.
      TensorList grads = [&] {
        const profiler::NodeScope scope(n->name(), n);
        return n->apply(g, needs);
      }();
      VOXGRAD_ASSERT(grads.size() == next.size());
      for (size_t i = 0; i < next.size(); ++i) {
        if (!needs[i] || !grads[i].defined())
          continue;
        Tensor gi = reduce_to(grads[i], n->input_shape(i), *n, i);
        VOXGRAD_CHECK(
            gi.dtype() == n->input_dtype(i), "backward: op '", n->name(),
            "' returned a ", dtype_name(gi.dtype()), " gradient for ",
            dtype_name(n->input_dtype(i)), " input ", i);
        auto [slot, fresh] = buffer.try_emplace(next[i].get(), gi);
        if (!fresh)
          slot->second = slot->second + gi;
      }
      if (!keep_graph)
        n->release_saved();
    }
  }

  TensorList result;
  if (capture) {
    for (const auto& c : *capture) {
      auto it = captured.find(c.get());
      result.push_back(it == captured.end() ? Tensor() : it->second);
    }
  }
  return result;
}

}  // namespace

void backward(
    const TensorList& outputs,
    const TensorList& grad_outputs,
    bool retain_graph,
    bool create_graph) {
  run(outputs, grad_outputs, retain_graph || create_graph, create_graph,
      nullptr);
}

TensorList grad(
    const TensorList& outputs,
    const TensorList& inputs,
    const TensorList& grad_outputs,
    bool create_graph,
    std::optional<bool> retain_graph,
    bool allow_unused) {
  std::vector<std::shared_ptr<Node>> capture;
  for (size_t i = 0; i < inputs.size(); ++i) {
    VOXGRAD_CHECK(inputs[i].defined(), "grad: input ", i, " is undefined");
    std::shared_ptr<Node> edge = gradient_edge(inputs[i]);
    VOXGRAD_CHECK(
        edge != nullptr, "grad: input ", i, " (shape ",
        shape_str(inputs[i].shape()), ") does not require grad");
    capture.push_back(std::move(edge));
  }
  TensorList result =
      run(outputs, grad_outputs, retain_graph.value_or(create_graph),
          create_graph, &capture);
  for (size_t i = 0; i < result.size(); ++i) {
    VOXGRAD_CHECK(
        allow_unused || result[i].defined(), "grad: input ", i, " (shape ",
        shape_str(inputs[i].shape()),
        ") was not used to compute the outputs (pass allow_unused=true to get "
        "an undefined tensor for it)");
  }
  return result;
}

}  // namespace voxgrad::autograd
