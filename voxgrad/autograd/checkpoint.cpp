// autograd::checkpoint: see voxgrad/autograd/checkpoint.hpp.
//
// The forward runs fn once with recording on, on detached copies of the
// inputs, only to learn which leaves (parameters) fn reads; its graph and
// every activation it saved are dropped before checkpoint() returns, so a
// chain of checkpointed blocks holds one block's activations at a time. The
// node recorded instead has the inputs and those parameters as inputs; its
// backward replays the random number generators, runs fn again on the
// original inputs with recording on and differentiates that (with
// create_graph when the outer sweep has it, so double backward works).

#include "voxgrad/autograd/checkpoint.hpp"

#include <unordered_set>
#include <utility>

#include "voxgrad/autograd/node.hpp"
#include "voxgrad/core/grad_mode.hpp"

namespace voxgrad::autograd {
namespace {

struct GeneratorState {
  Generator* gen;
  uint64_t seed, offset;
};

std::vector<GeneratorState> snapshot(const CheckpointOptions& o) {
  std::vector<GeneratorState> s;
  if (!o.preserve_rng_state)
    return s;
  std::vector<Generator*> gens{&default_generator()};
  gens.insert(gens.end(), o.generators.begin(), o.generators.end());
  for (Generator* g : gens) {
    VOXGRAD_CHECK(g != nullptr, "checkpoint: options.generators holds a null");
    s.push_back({g, g->seed(), g->offset()});
  }
  return s;
}

/// Puts the generators back to the forward's states for its lifetime, and
/// restores where they were after.
class ReplayGenerators {
 public:
  explicit ReplayGenerators(const std::vector<GeneratorState>& then) {
    for (const GeneratorState& s : then) {
      now_.push_back({s.gen, s.gen->seed(), s.gen->offset()});
      s.gen->set_state(s.seed, s.offset);
    }
  }
  ~ReplayGenerators() {
    for (auto it = now_.rbegin(); it != now_.rend(); ++it)
      it->gen->set_state(it->seed, it->offset);
  }
  ReplayGenerators(const ReplayGenerators&) = delete;
  ReplayGenerators& operator=(const ReplayGenerators&) = delete;

 private:
  std::vector<GeneratorState> now_;
};

/// The leaves that require grad which y's graph reads, other than `inputs`
/// (detached copies made for this walk). A node made before `first_seq`
/// that is not a leaf is a tensor with history from outside the block,
/// which fn must receive as an input.
TensorList parameters_read(
    const Tensor& y, const TensorList& inputs, uint64_t first_seq) {
  std::unordered_set<const TensorImpl*> own;
  for (const Tensor& t : inputs)
    if (t.defined())
      own.insert(t.impl().get());
  TensorList params;
  std::unordered_set<const Node*> seen;
  std::vector<std::shared_ptr<Node>> stack{y.grad_fn()};
  while (!stack.empty()) {
    std::shared_ptr<Node> n = std::move(stack.back());
    stack.pop_back();
    if (!n || !seen.insert(n.get()).second)
      continue;
    if (auto* acc = dynamic_cast<AccumulateGrad*>(n.get())) {
      std::shared_ptr<TensorImpl> leaf = acc->leaf();
      if (leaf && !own.count(leaf.get()))
        params.emplace_back(std::move(leaf));
      continue;
    }
    VOXGRAD_CHECK(
        n->sequence_nr() >= first_seq,
        "checkpoint: fn used a tensor that has "
        "autograd history from outside the block (made by '",
        n->name(), "'); pass it to checkpoint() as one of the inputs");
    for (const auto& e : n->next())
      stack.push_back(e);
  }
  return params;
}

}  // namespace

Tensor checkpoint(
    const CheckpointFn& fn,
    const TensorList& inputs,
    const CheckpointOptions& options) {
  VOXGRAD_CHECK(fn != nullptr, "checkpoint: fn is empty");
  if (!GradMode::is_enabled())
    return fn(inputs);
  const std::vector<GeneratorState> rng = snapshot(options);
  TensorList detached;
  for (const Tensor& t : inputs) {
    Tensor d = t.defined() ? t.detach() : Tensor();
    if (t.defined() && t.requires_grad())
      d.requires_grad_();
    detached.push_back(d);
  }
  // Nodes made from here on belong to the block.
  const uint64_t first_seq = next_sequence_nr();
  Tensor y = fn(detached);
  VOXGRAD_CHECK(y.defined(), "checkpoint: fn returned an undefined tensor");
  if (!y.requires_grad())
    return y;
  TensorList params = parameters_read(y, detached, first_seq);
  const Tensor out = y.detach();  // the values; y's graph dies here
  y = Tensor();
  detached.clear();

  const size_t n_in = inputs.size();
  TensorList edges = inputs;
  edges.insert(edges.end(), params.begin(), params.end());
  return record(
      Op::checkpoint, out, edges, edges,
      [fn, inputs, params, rng, n_in](const BackwardArgs& g) -> TensorList {
        const bool create = GradMode::is_enabled();
        Tensor y2;
        {
          ReplayGenerators replay(rng);
          AutoGradMode record_on(true);
          y2 = fn(inputs);
        }
        TensorList wanted;
        std::vector<size_t> slot;
        for (size_t i = 0; i < g.needs.size(); ++i) {
          if (!g.needs[i])
            continue;
          wanted.push_back(i < n_in ? inputs[i] : params[i - n_in]);
          slot.push_back(i);
        }
        TensorList grads(g.needs.size());
        if (wanted.empty() || !y2.requires_grad())
          return grads;
        const TensorList got =
            grad({y2}, wanted, {g.grad}, create, create, /*allow_unused=*/true);
        for (size_t k = 0; k < slot.size(); ++k)
          grads[slot[k]] = got[k];
        return grads;
      });
}

}  // namespace voxgrad::autograd
