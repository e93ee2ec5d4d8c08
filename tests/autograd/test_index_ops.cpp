// Indexing ops (voxgrad/autograd/ops/index.cpp) beyond the golden values:
// the validation of every index argument, the rules PyTorch leaves open
// (repeated scatter indices, ties, NaN), determinism for any thread count,
// and index tensors written in place between forward and backward.

#include "test_util.hpp"

namespace voxgrad {
namespace {

Tensor ints(std::vector<int64_t> v, const Shape& shape) {
  return from_blob(v.data(), shape);
}

Tensor ramp(const Shape& shape) {
  return arange(numel(shape), kFloat64).reshape(shape) * 0.5;
}

}  // namespace

TEST_CASE("index arguments: dtype, range and shape are checked and named") {
  const Tensor x = ramp({2, 5, 3});
  // dtype: both named.
  CHECK_ERROR_CONTAINS(
      gather(x, 1, zeros({2, 1, 3})), "gather", "index", "int64", "float32");
  CHECK_ERROR_CONTAINS(
      index_select(x, 0, zeros({1}, kFloat64)), "index_select", "int64",
      "float64");
  CHECK_ERROR_CONTAINS(
      one_hot(zeros({2})), "one_hot", "labels", "int64", "float32");
  // range: the value, its position, the axis size and the rule.
  CHECK_ERROR_CONTAINS(
      gather(x, 1, ints({0, 1, 2, 3, 4, 5}, {2, 1, 3})), "gather",
      "index value 5", "position [1, 0, 2]", "size 5", "0 <= index < 5");
  CHECK_ERROR_CONTAINS(
      gather(x, 1, ints({-1}, {1, 1, 1})), "gather", "index value -1",
      "position [0, 0, 0]");
  CHECK_ERROR_CONTAINS(
      index_select(x, 2, ints({0, 3}, {2})), "index_select", "value 3",
      "position [1]", "size 3");
  CHECK_ERROR_CONTAINS(
      scatter_add(zeros({3}, kFloat64), 0, ints({3}, {1}), ones({1}, kFloat64)),
      "scatter_add", "index value 3");
  CHECK_ERROR_CONTAINS(
      index_add(zeros({3}, kFloat64), 0, ints({-2}, {1}), ones({1}, kFloat64)),
      "index_add", "index value -2");
  CHECK_ERROR_CONTAINS(
      one_hot(ints({0, 5}, {2}), 5), "one_hot", "label value 5",
      "position [1]");
  CHECK_ERROR_CONTAINS(one_hot(ints({}, {0})), "one_hot", "empty");
  // shape rules.
  CHECK_ERROR_CONTAINS(
      gather(x, 1, ints({0}, {1, 1})), "gather", "as many axes");
  CHECK_ERROR_CONTAINS(
      gather(x, 1, ints({0, 0, 0}, {3, 1, 1})), "gather", "larger", "axis 0");
  CHECK_ERROR_CONTAINS(
      scatter(x, 1, ints({0, 0}, {1, 2, 1}), ramp({1, 1, 1})), "scatter",
      "larger than src", "axis 1");
  CHECK_ERROR_CONTAINS(
      index_select(x, 0, ints({0, 1}, {1, 2})), "index_select", "1-d");
  CHECK_ERROR_CONTAINS(
      index_add(ramp({4, 3}), 0, ints({0, 1}, {2}), ramp({3, 3})), "index_add",
      "source [3, 3]", "[2, 3]");
  CHECK_ERROR_CONTAINS(gather(x, 3, ints({0}, {1, 1, 1})), "gather", "axis 3");
  CHECK_ERROR_CONTAINS(
      take_along_dim(x, ints({0}, {1}), 1), "take_along_dim", "axes");
  CHECK_ERROR_CONTAINS(
      masked_fill(x, zeros({3}, kFloat32), 1.0), "masked_fill", "mask",
      "float32");
  CHECK_ERROR_CONTAINS(topk(x, 6, 1), "topk", "k (6)", "[0, size of axis 1");
  CHECK_ERROR_CONTAINS(argmax(zeros({0, 3}), 0), "argmax", "empty");
  CHECK_ERROR_CONTAINS(x.max(5), "max", "axis 5");
}

TEST_CASE("scatter: the last repeated index wins, scatter_add adds in order") {
  const Tensor self = zeros({4}, kFloat64);
  const Tensor idx = ints({2, 0, 2, 2, 0}, {5});
  const Tensor src = tensor({1, 2, 3, 4, 5}, kFloat64);
  CHECK(
      scatter(self, 0, idx, src).to_vector<double>() ==
      std::vector<double>{5, 0, 4, 0});
  // float32 sums in increasing source position, from the destination's
  // value: the exact sequence a serial loop gives (not a tree sum).
  Generator g(3);
  const int64_t n = 100000;
  const Tensor big_src = randn({n}, kFloat32, &g) * 1000.0f;
  const Tensor big_idx = randint(0, 7, {n}, &g);
  const Tensor base = randn({7}, kFloat32, &g);
  std::vector<float> want = base.to_vector<float>();
  const auto s = big_src.to_vector<float>();
  const auto ix = big_idx.to_vector<int64_t>();
  for (int64_t i = 0; i < n; ++i)
    want[static_cast<size_t>(ix[static_cast<size_t>(i)])] +=
        s[static_cast<size_t>(i)];
  CHECK(scatter_add(base, 0, big_idx, big_src).to_vector<float>() == want);
  CHECK(index_add(base, 0, big_idx, big_src).to_vector<float>() == want);
}

TEST_CASE("max(dim) sends the gradient to the first maximum, amax splits it") {
  const Tensor x =
      tensor({1, 3, 3, 2, 7, 7}, {2, 3}, kFloat64).requires_grad_();
  auto [v, i] = x.max(1);
  CHECK(i.to_vector<int64_t>() == std::vector<int64_t>{1, 1});
  v.sum().backward();
  CHECK(x.grad().to_vector<double>() == std::vector<double>{0, 1, 0, 0, 1, 0});
  x.set_grad({});
  x.amax({1}).sum().backward();
  CHECK(
      x.grad().to_vector<double>() ==
      std::vector<double>{0, 0.5, 0.5, 0, 0.5, 0.5});
  x.set_grad({});
  auto [mv, mi] = min(x, 0, true);
  CHECK(mi.shape() == Shape{1, 3});
  CHECK(mi.to_vector<int64_t>() == std::vector<int64_t>{0, 0, 0});
  CHECK(x.min().item() == 1.0);
  CHECK(argmin(x).item<int64_t>() == 0);
  CHECK(argmax(x, 0, true).shape() == Shape{1, 3});
}

TEST_CASE("arg-reductions and topk: NaN is the extreme, ties by position") {
  const double nan = std::nan("");
  const Tensor x = tensor({1, nan, 3, nan, 0}, kFloat64);
  CHECK(argmax(x).item<int64_t>() == 1);
  CHECK(argmin(x).item<int64_t>() == 1);
  auto [v, i] = x.max(0);
  CHECK(std::isnan(v.item()));
  CHECK(i.item<int64_t>() == 1);
  auto [tv, ti] = topk(x, 3);
  CHECK(ti.to_vector<int64_t>() == std::vector<int64_t>{1, 3, 2});
  auto [sv, si] = topk(x, 2, 0, false);
  CHECK(si.to_vector<int64_t>() == std::vector<int64_t>{4, 0});
  const Tensor t = tensor({2, 5, 5, 1, 5}, kFloat64);
  auto [kv, ki] = t.topk(3);
  CHECK(ki.to_vector<int64_t>() == std::vector<int64_t>{1, 2, 4});
  CHECK(kv.to_vector<double>() == std::vector<double>{5, 5, 5});
  auto [zv, zi] = topk(t, 0);
  CHECK(zv.shape() == Shape{0});
}

TEST_CASE("scatter_add with an index smaller than src: unused src gets 0") {
  const Tensor self = zeros({2, 3}, kFloat64).requires_grad_();
  const Tensor src = ramp({3, 4}).requires_grad_();
  const Tensor idx = ints({0, 2, 1, 1}, {2, 2});
  const Tensor y = scatter_add(self, 1, idx, src);
  CHECK(y.to_vector<double>() == std::vector<double>{0, 0, 0.5, 0, 4.5, 0});
  const Tensor gy = ramp({2, 3}) + 1.0;
  const auto g = autograd::grad({y}, {self, src}, {gy});
  CHECK(g[0].to_vector<double>() == gy.to_vector<double>());
  CHECK(
      g[1].to_vector<double>() ==
      std::vector<double>{1, 2, 0, 0, 3, 3, 0, 0, 0, 0, 0, 0});
}

TEST_CASE("masked_fill takes int64 and float masks, take_along_dim works") {
  const Tensor x = ramp({2, 3}).requires_grad_();
  const Tensor m = ints({0, 1, 0}, {3});
  const Tensor y = masked_fill(x, m, -1.0);
  CHECK(y.to_vector<double>() == std::vector<double>{0, -1, 1, 1.5, -1, 2.5});
  CHECK(test::bit_equal(y, x.masked_fill(m.to(kFloat64), -1.0)));
  y.sum().backward();
  CHECK(x.grad().to_vector<double>() == std::vector<double>{1, 0, 1, 1, 0, 1});
  // take_along_dim picks the argmax along an axis, like max(dim).
  const Tensor s = tensor({0.1, 0.9, 0.3, 0.8, 0.2, 0.4}, {2, 3}, kFloat64);
  const Tensor am = argmax(s, 1, true);
  CHECK(
      s.take_along_dim(am, 1).to_vector<double>() ==
      std::get<0>(s.max(1, true)).to_vector<double>());
  CHECK(
      s.take_along_dim(ints({5, 0}, {2})).to_vector<double>() ==
      std::vector<double>{0.4, 0.1});
}

TEST_CASE("index ops give bit-identical results for any thread count") {
  Generator g(11);
  const Tensor x = randn({64, 300, 8}, kFloat32, &g);
  const Tensor gidx = randint(0, 300, {64, 900, 8}, &g);
  const Tensor sidx = randint(0, 5, {64, 300, 8}, &g);  // heavy repeats
  const Tensor iidx = randint(0, 300, {5000}, &g);
  const Tensor emb = randn({300, 16}, kFloat32, &g);
  const Tensor labels = randint(0, 300, {40, 50}, &g);
  auto run = [&](int threads) {
    return test::with_threads(threads, [&] {
      TensorList r;
      const Tensor xr = x.detach().requires_grad_();
      const Tensor er = emb.detach().requires_grad_();
      const Tensor a = gather(xr, 1, gidx);
      const Tensor b = scatter_add(zeros({64, 5, 8}), 1, sidx, xr);
      const Tensor c = index_select(xr, 1, iidx);
      const Tensor d = index_add(zeros({64, 300, 8}), 1, iidx, c);
      const Tensor e = nn::functional::embedding(
          labels, er, nn::functional::EmbeddingFuncOptions().padding_idx(3));
      const Tensor l = (a * a).sum() + (b * b).sum() + (d * d).sum() +
                       (e * e).sum() + argmax(xr, 1).to(kFloat32).sum();
      const auto grads = autograd::grad({l}, {xr, er});
      return TensorList{a, b, c, d, e, grads[0], grads[1]};
    });
  };
  const TensorList one = run(1);
  for (int threads : {2, 3, 8}) {
    CAPTURE(threads);
    const TensorList many = run(threads);
    for (size_t k = 0; k < one.size(); ++k) {
      CAPTURE(k);
      CHECK(test::bit_equal(one[k], many[k]));
    }
  }
}

TEST_CASE("an index written in place after the forward is caught") {
  const Tensor x = ramp({3, 4}).requires_grad_();
  const Tensor idx = ints({0, 2, 1}, {3, 1});
  const Tensor y = gather(x, 1, idx);
  idx.fill_(3);
  CHECK_ERROR_CONTAINS(
      y.sum().backward(), "backward through 'gather'",
      "modified by an in-place operation");
  const Tensor w = ramp({5, 2}).requires_grad_();
  const Tensor labels = ints({1, 4}, {2});
  const Tensor e = nn::functional::embedding(labels, w);
  labels.fill_(0);
  CHECK_ERROR_CONTAINS(e.sum().backward(), "backward through 'embedding'");
}

}  // namespace voxgrad
