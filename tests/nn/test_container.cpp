// nn::Sequential and nn::ModuleList: construction, PyTorch's child names,
// chaining, indexing, iteration, printing and errors.

#include <sstream>

#include "test_util.hpp"

namespace voxgrad::nn {

TEST_CASE("Sequential: children named 0, 1, ..., and forward chains them") {
  // Handles and plain shared pointers mix in one list.
  Sequential seq({Linear(4, 8), std::make_shared<ReLUImpl>()});
  seq->push_back(Linear(8, 2));
  CHECK(seq->size() == 3);
  std::vector<std::string> names;
  for (const auto& [n, t] : seq->named_parameters())
    names.push_back(n);
  CHECK(
      names ==
      std::vector<std::string>{"0.weight", "0.bias", "2.weight", "2.bias"});
  const Tensor x = randn({5, 4});
  const Tensor manual =
      seq->at<LinearImpl>(2)->forward(relu(seq->at<Linear>(0)(x)));
  CHECK(test::bit_equal(seq(x), manual));
  CHECK(test::bit_equal(seq->forward(x), manual));
  CHECK(seq[1]->name() == "ReLU");
  CHECK(test::bit_equal(seq[1](-x), relu(-x)));
  int n = 0;
  for (const auto& m : seq)
    n += m.has_tensor_forward();
  CHECK(n == 3);
  Sequential variadic(
      std::make_shared<FlattenImpl>(), Tanh(), std::make_shared<TanhImpl>());
  CHECK(variadic->size() == 3);
  CHECK(variadic(ones({2, 3, 4})).shape() == Shape{2, 12});
  Sequential named;
  named->push_back("encoder", Linear(2, 2));
  named->push_back("act", std::make_shared<SigmoidImpl>());
  CHECK(named->named_parameters().at(0).first == "encoder.weight");
  CHECK(named->named_children().at(1).first == "act");
  CHECK(test::bit_equal(Sequential()(x), x));  // empty: identity
}

TEST_CASE("Sequential: train/eval reach children, printing, errors") {
  Sequential seq(Linear(2, 3), Dropout(DropoutOptions(0.5)));
  seq->eval();
  CHECK_FALSE(seq[1]->is_training());
  std::ostringstream os;
  os << seq;
  CHECK(
      os.str() ==
      "Sequential(\n  (0): Linear(in_features=2, out_features=3, bias=true; "
      "weight [3, 2], bias [3])\n  (1): Dropout(p=0.5)\n)  # 9 parameters");
  CHECK_ERROR_CONTAINS(seq[2], "Sequential", "index 2", "2 module(s)");
  // at<T> names the child's type and the type asked for.
  CHECK_ERROR_CONTAINS(
      seq->at<ReLU>(0), "Sequential: child 0", "Linear",
      "voxgrad::nn::LinearImpl", "voxgrad::nn::ReLU");
  CHECK_ERROR_CONTAINS(
      seq->at<Conv3dImpl>(1), "Sequential: child 1", "Dropout",
      "voxgrad::nn::Conv3dImpl");
  CHECK_ERROR_CONTAINS(
      seq->push_back(std::shared_ptr<LinearImpl>()), "Sequential", "null");
  CHECK_ERROR_CONTAINS(
      seq->push_back("0", ReLU()), "'0'", "already registered");
  // A child known only as nn::Module cannot be chained; the type-erased
  // route is checked when the child is added.
  const AnyModule opaque(std::shared_ptr<Module>(std::make_shared<ReLUImpl>()));
  CHECK_FALSE(opaque.has_tensor_forward());
  CHECK_ERROR_CONTAINS(opaque(ones({1})), "ReLU", "forward(const Tensor&)");
  CHECK_ERROR_CONTAINS(
      seq->push_back(opaque), "Sequential", "ReLU", "forward(const Tensor&)");
  CHECK(seq->size() == 2);  // nothing was added
}

TEST_CASE("ModuleList: registers, indexes and iterates, and has no forward") {
  ModuleList list;
  list->push_back(Linear(3, 3));
  list->push_back(std::make_shared<LinearImpl>(3, 3));
  ModuleList more({ReLU()});
  list->extend(*more);
  list->extend(*list);
  CHECK(list->size() == 6);
  CHECK(list->named_children().at(5).first == "5");
  CHECK(list->named_parameters().size() == 8);  // 4 Linear entries, shared
  Tensor x = randn({2, 3});
  for (const auto& m : list)
    x = m(x);
  CHECK(x.shape() == Shape{2, 3});
  CHECK(list->at<Linear>(1)->weight().shape() == Shape{3, 3});
  CHECK(list[2].as<ReLUImpl>()->name() == "ReLU");
  CHECK_ERROR_CONTAINS(list[2].as<Linear>(), "ReLU", "voxgrad::nn::Linear");
  CHECK_ERROR_CONTAINS(list[6], "ModuleList", "index 6");
  // A list may hold modules that take other inputs (no forward(Tensor)).
  list->push_back(MSELoss());
  CHECK_FALSE(list[6].has_tensor_forward());
  CHECK(list->at<MSELoss>(6)(x, x).item() == 0.0);
}

}  // namespace voxgrad::nn

namespace voxgrad::nn {

TEST_CASE("Sequential: a small 3-D encoder-decoder trains end to end") {
  // Conv3d (voxgrad/nn/conv.hpp) with this file's layers: shapes, PyTorch-style
  // state_dict names, and a gradient for every parameter.
  manual_seed(1);
  Sequential net(
      Conv3d(Conv3dOptions(1, 4, 3).stride(2).padding(1)), BatchNorm3d(4),
      LeakyReLU(),
      Upsample(
          UpsampleOptions().scale_factor(2.0).mode(UpsampleMode::Trilinear)),
      GroupNorm(2, 4),
      Dropout3d(DropoutOptions(0.1).generator(std::make_shared<Generator>(3))),
      Conv3d(Conv3dOptions(4, 1, 3).padding(1)));
  const Tensor x = randn({2, 1, 6, 6, 6});
  const Tensor y = net(x);
  CHECK(y.shape() == x.shape());
  BCEWithLogitsLoss loss;
  loss(y, gt(x, 0.0)).backward();
  for (const auto& named : net->named_parameters()) {
    CAPTURE(named.first);  // no structured binding: clang 14 cannot capture one
    CHECK(named.second.grad().defined());
  }
  const NamedTensors sd = net->state_dict();
  CHECK(sd.size() == 11);  // 2 + 2 conv, 2 + 2 norm params, 3 BN buffers
  CHECK(sd.back().first == "1.num_batches_tracked");
  net->eval();
  CHECK(test::bit_equal(net(x), net(x)));  // eval: no dropout, fixed stats
}

}  // namespace voxgrad::nn
