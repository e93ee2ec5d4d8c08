// The profiler through a real forward and backward: the conv kernels'
// events, the engine's "backward" events named after each node's op, the
// backward phase of the kernels they run, and the module a node was
// recorded under charged with its backward time.

#include <string>

#include "test_util.hpp"
#include "voxgrad/autograd/ops.hpp"
#include "voxgrad/core/profiler.hpp"
#include "voxgrad/nn/container.hpp"
#include "voxgrad/nn/conv.hpp"

namespace voxgrad {
namespace {

namespace prof = profiler;

const prof::Row* find_row(
    const std::vector<prof::Row>& rows,
    const std::string& name,
    prof::Kind kind,
    bool backward) {
  for (const prof::Row& r : rows)
    if (r.name == name && r.kind == kind && r.backward == backward)
      return &r;
  return nullptr;
}

TEST_CASE("profiler sees conv kernels, backward nodes and their module") {
  const Tensor x = randn({2, 3, 6, 6, 6}).requires_grad_();
  const Tensor w = randn({4, 3, 3, 3, 3}).requires_grad_();
  prof::Session session;
  Tensor loss;
  {
    prof::ModuleScope net("net");
    loss = sum(relu(conv3d(x, w, {}, 1, 1)));
  }
  loss.backward();
  const auto rows = prof::key_averages();
  using K = prof::Kind;
  const prof::Row* fwd = find_row(rows, "conv3d_fwd", K::Op, false);
  REQUIRE(fwd != nullptr);
  CHECK(fwd->calls == 1);
  CHECK(fwd->bytes == (2 * 3 * 216 + 4 * 3 * 27 + 2 * 4 * 216) * 4);
  // The input and weight gradients run in the backward phase.
  CHECK(find_row(rows, "conv3d_bwd_data", K::Op, true) != nullptr);
  CHECK(find_row(rows, "conv3d_bwd_weight", K::Op, true) != nullptr);
  CHECK(find_row(rows, "conv3d_fwd", K::Op, true) == nullptr);
  // One backward event per node that ran, named after its op.
  for (const char* op : {"conv3d", "relu", "sum"}) {
    CAPTURE(op);
    const prof::Row* b = find_row(rows, op, K::Backward, true);
    REQUIRE(b != nullptr);
    CHECK(b->calls == 1);
    CHECK(b->total_ms >= b->self_ms);
  }
  bool seen = false;
  for (const prof::ModuleRow& m : prof::module_averages()) {
    if (m.module != "net")
      continue;
    seen = true;
    CHECK(m.forward_ms > 0);
    CHECK(m.backward_ms > 0);  // remembered at record time
  }
  CHECK(seen);
}

TEST_CASE("profiler charges a module called through its handle") {
  nn::Sequential net(
      nn::Conv3d(nn::Conv3dOptions(2, 3, 3).padding(1)),
      nn::Conv3d(nn::Conv3dOptions(3, 1, 1)));
  const Tensor x = randn({1, 2, 5, 5, 5});
  prof::Session session;
  sum(net(x)).backward();
  int seen = 0;
  for (const prof::ModuleRow& m : prof::module_averages()) {
    if (m.module == "Sequential.Conv3d") {
      ++seen;
      CHECK(m.calls == 2);  // the two children share a label
      CHECK(m.forward_ms > 0);
      CHECK(m.backward_ms > 0);
    }
  }
  CHECK(seen == 1);
}

TEST_CASE("profiler: a backward outside a session records nothing") {
  const Tensor x = randn({1, 1, 4, 4, 4}).requires_grad_();
  const Tensor w = randn({1, 1, 3, 3, 3});
  sum(conv3d(x, w)).backward();
  CHECK_FALSE(prof::active());
  prof::Session session;
  CHECK(prof::key_averages().empty());
}

}  // namespace
}  // namespace voxgrad
