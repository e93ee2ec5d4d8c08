// nn::Embedding and nn::EmbeddingBag beyond the golden values:
// initialisation, padding_idx, max_norm's in-place renormalisation (and its
// version bump), from_pretrained, bags from offsets and the errors.

#include <sstream>

#include "test_util.hpp"

namespace voxgrad::nn {
namespace {

namespace F = functional;

Tensor ints(std::vector<int64_t> v, const Shape& shape) {
  return from_blob(v.data(), shape);
}

}  // namespace

TEST_CASE("Embedding: N(0, 1) init, zero padding row, no gradient for it") {
  manual_seed(0);
  Embedding e(EmbeddingOptions(1000, 8).padding_idx(-2));
  CHECK(e->options().padding_idx() == 998);
  CHECK(abs(e->weight().select(0, 998)).sum().item() == 0.0);
  CHECK(e->weight().mean().item() == doctest::Approx(0.0).epsilon(0.05));
  const Tensor idx = ints({998, 3, 998, 3, 7}, {5});
  const Tensor out = e(idx);
  CHECK(out.shape() == Shape{5, 8});
  (out * out).sum().backward();
  const Tensor g = e->weight().grad();
  CHECK(abs(g.select(0, 998)).sum().item() == 0.0);
  // Row 3 was looked up twice: its gradient is the sum of both.
  CHECK(test::allclose(
      g.select(0, 3), e->weight().select(0, 3) * 4.0, 1e-6, 1e-6));
  std::ostringstream os;
  os << *e;
  CHECK(os.str().find("1000, 8, padding_idx=998") != std::string::npos);
}

TEST_CASE("Embedding max_norm renormalises looked-up rows in place") {
  const Tensor w = tensor({3, 4, 0.3, 0.4, 6, 8}, {3, 2}, kFloat64);
  const Embedding e = Embedding::from_pretrained(
      w, EmbeddingFromPretrainedOptions().freeze(false).max_norm(1.0));
  const uint64_t v0 = e->weight().version();
  const Tensor out = e(ints({0, 1, 0}, {3}));
  CHECK(e->weight().version() > v0);  // an in-place write, like PyTorch's
  const auto row0 = e->weight().select(0, 0).to_vector<double>();
  CHECK(row0[0] == doctest::Approx(0.6).epsilon(1e-6));
  CHECK(row0[1] == doctest::Approx(0.8).epsilon(1e-6));
  // Row 1 is within the norm; row 2 was not looked up: both unchanged.
  CHECK(
      e->weight().select(0, 1).to_vector<double>() ==
      std::vector<double>{0.3, 0.4});
  CHECK(
      e->weight().select(0, 2).to_vector<double>() ==
      std::vector<double>{6, 8});
  CHECK(test::bit_equal(out.select(0, 0), e->weight().select(0, 0)));
  // The backward reads only the indices: it still runs.
  out.sum().backward();
  CHECK(
      e->weight().grad().select(0, 0).to_vector<double>() ==
      std::vector<double>{2, 2});
}

TEST_CASE("Embedding::from_pretrained freezes by default, errors are named") {
  const Tensor w = randn({4, 3});
  auto e = Embedding::from_pretrained(w);
  CHECK_FALSE(e->weight().requires_grad());
  CHECK(test::bit_equal(e->weight(), w));
  CHECK_ERROR_CONTAINS(
      e(ints({0, 4}, {2})), "Embedding", "index value 4", "position [1]",
      "num_embeddings");
  CHECK_ERROR_CONTAINS(e(zeros({2})), "Embedding", "int64", "float32");
  CHECK_ERROR_CONTAINS(
      Embedding(EmbeddingOptions(4, 2).padding_idx(4)), "padding_idx 4",
      "[-4, 4)");
  CHECK_ERROR_CONTAINS(
      Embedding(EmbeddingOptions(4, 2).max_norm(-1.0)), "max_norm", "> 0");
  CHECK_ERROR_CONTAINS(
      F::embedding(ints({0}, {1}), randn({4})), "embedding", "2-D");
  CHECK_ERROR_CONTAINS(
      F::embedding(ints({0}, {1}), randn({4, 2}).to(kInt64)), "embedding",
      "int64", "float32 or float64");
}

TEST_CASE("EmbeddingBag: bags from offsets or rows, errors are named") {
  manual_seed(1);
  EmbeddingBag bag(
      EmbeddingBagOptions(6, 2).mode(EmbeddingBagMode::Sum).padding_idx(0));
  CHECK(abs(bag->weight().select(0, 0)).sum().item() == 0.0);
  const Tensor w = bag->weight().detach();
  const Tensor in = from_blob(std::vector<int64_t>{3, 0, 5, 3}.data(), {4});
  const Tensor off = from_blob(std::vector<int64_t>{0, 3, 3}.data(), {3});
  const Tensor y = bag(in, off);
  CHECK(y.shape() == Shape{3, 2});
  CHECK(test::allclose(
      y.select(0, 0), w.select(0, 3) + w.select(0, 5), 1e-6, 1e-6));
  CHECK(abs(y.select(0, 1)).sum().item() == 0.0);  // the empty bag
  CHECK(test::allclose(y.select(0, 2), w.select(0, 3), 1e-6, 1e-6));
  y.sum().backward();
  CHECK(
      bag->weight().grad().select(0, 3).to_vector<float>() ==
      std::vector<float>{2, 2});
  CHECK(
      bag->weight().grad().select(0, 0).to_vector<float>() ==
      std::vector<float>{0, 0});
  std::ostringstream os;
  os << *bag;
  CHECK(os.str().find("6, 2, mode=sum, padding_idx=0") != std::string::npos);
  CHECK_ERROR_CONTAINS(bag(in), "embedding_bag", "offsets");
  CHECK_ERROR_CONTAINS(
      bag(in, from_blob(std::vector<int64_t>{0, 5}.data(), {2})),
      "embedding_bag", "offsets[1] = 5", "input length 4");
  CHECK_ERROR_CONTAINS(
      bag(in, from_blob(std::vector<int64_t>{0, 3, 2}.data(), {3})),
      "offsets[2] = 2");
  CHECK_ERROR_CONTAINS(
      bag(in.reshape({2, 2}), off), "embedding_bag", "2-d input");
  CHECK_ERROR_CONTAINS(
      bag(in, off, ones({3})), "embedding_bag", "per_sample_weights", "[4]");
  EmbeddingBag mean_bag(EmbeddingBagOptions(6, 2));
  CHECK_ERROR_CONTAINS(
      mean_bag(in, off, ones({4})), "per_sample_weights", "mode sum", "mean");
}

}  // namespace voxgrad::nn
