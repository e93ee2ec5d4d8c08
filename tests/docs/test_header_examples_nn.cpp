// The ```cpp usage examples of the nn layers' headers, verbatim (ctest
// docs_snippets_in_sync checks that), compiled and run here: one function
// per example, in namespace voxgrad::nn as the headers are, given the
// tensors it names. The copies are not clang-formatted, so that they stay
// the headers' text. Edit a header's example and its copy together.
#include <iostream>
#include <memory>
#include <sstream>

#include "test_util.hpp"

namespace voxgrad::nn::doc_examples {
namespace {

// clang-format off

// ---- voxgrad/nn/linear.hpp
Shape linear_hpp() {
nn::Linear fc(nn::LinearOptions(4, 8));
  return fc->weight().shape();
}

// ---- voxgrad/nn/conv.hpp
std::pair<Tensor, Tensor> conv3d_functional(const Tensor& x, const Tensor& w, const Tensor& b) {
Tensor y = voxgrad::conv3d(x, w, b, /*stride=*/2, /*padding=*/1);
Tensor p = voxgrad::conv3d(x, w, b, 1, 1, 1, 1, voxgrad::kCircular);
  return {y, p};
}

Conv3dOptions conv3d_options() {
auto options = nn::Conv3dOptions(1, 8, 3).padding(1).padding_mode(
    nn::kCircular);
  return options;
}

Tensor conv3d_module(const Tensor& x) {
nn::Conv3d conv(nn::Conv3dOptions(1, 16, 3).padding(1));
Tensor y = conv(x);
  return y;
}

std::pair<Shape, Shape> conv_transpose3d_module(const Tensor& x) {
nn::ConvTranspose3d up(
    nn::ConvTranspose3dOptions(3, 64, 3).stride(2).padding(1));
up(x);                           // (2, 3, 8, 8, 8) -> (2, 64, 15, 15, 15)
up(x, std::vector<int64_t>{16, 16, 16});  // output_padding 1 derived
  return {up(x).shape(), up(x, std::vector<int64_t>{16, 16, 16}).shape()};
}

// ---- voxgrad/nn/dropout.hpp
double dropout_hpp() {
nn::Dropout drop(nn::DropoutOptions(0.1));
  return drop->options().p();
}

// ---- voxgrad/nn/normalization.hpp
BatchNormOptions batch_norm_options() {
auto options = nn::BatchNorm3dOptions(16).momentum(0.1).eps(1e-5).affine(
    true).track_running_stats(true);
  return options;
}

Shape batch_norm3d_module() {
nn::BatchNorm3d bn(nn::BatchNorm3dOptions(16));
  return bn->weight().shape();
}

Shape batch_norm1d_module() {
nn::BatchNorm1d bn(nn::BatchNorm1dOptions(64));
  return bn->weight().shape();
}

// ---- voxgrad/nn/layer_norm.hpp
Shape layer_norm_hpp() {
nn::LayerNorm ln(nn::LayerNormOptions({64}).eps(1e-6));
  return ln->weight().shape();
}

// ---- voxgrad/nn/instance_norm.hpp
InstanceNormOptions instance_norm_options() {
auto options = nn::InstanceNorm3dOptions(16).eps(1e-5).momentum(0.1).affine(
    false).track_running_stats(false);
  return options;
}

Shape instance_norm_module() {
nn::InstanceNorm3d norm(nn::InstanceNorm3dOptions(16).affine(true));
  return norm->weight().shape();
}

// ---- voxgrad/nn/embedding.hpp
Tensor embedding_functional(const Tensor& labels, const Tensor& table) {
auto e = F::embedding(labels, table, F::EmbeddingFuncOptions()
                                         .padding_idx(0));
  return e;
}

Tensor embedding_module(const Tensor& class_labels) {
nn::Embedding embed(nn::EmbeddingOptions(10, 16).padding_idx(0));
Tensor e = embed(class_labels);  // (N) int64 -> (N, 16)
  return e;
}

Tensor embedding_from_pretrained(const Tensor& table) {
auto e = nn::Embedding::from_pretrained(table);
  return e->weight();
}

Tensor embedding_bag_functional(const Tensor& tokens, const Tensor& table, const Tensor& starts) {
auto h = F::embedding_bag(tokens, table, F::EmbeddingBagFuncOptions()
                                             .offsets(starts)
                                             .mode(EmbeddingBagMode::Sum));
  return h;
}

Tensor embedding_bag_module(const Tensor& tokens, const Tensor& offsets) {
nn::EmbeddingBag bag(nn::EmbeddingBagOptions(100, 8));
Tensor h = bag(tokens, offsets);  // (B, 8)
  return h;
}

// ---- voxgrad/nn/cross_entropy.hpp
Tensor cross_entropy_functional(const Tensor& logits, const Tensor& labels) {
auto loss = F::cross_entropy(logits, labels,
                             F::CrossEntropyFuncOptions().ignore_index(0));
  return loss;
}

Tensor cross_entropy_module(const Tensor& logits, const Tensor& labels) {
nn::CrossEntropyLoss loss(nn::CrossEntropyLossOptions().ignore_index(0));
  return loss(logits, labels);
}

// ---- voxgrad/nn/loss.hpp
Tensor mse_loss_module(const Tensor& prediction, const Tensor& target) {
nn::MSELoss loss;  auto l = loss(prediction, target);
  return l;
}

Tensor kl_div_module(const Tensor& logits, const Tensor& target_probs) {
nn::KLDivLoss kl(nn::KLDivLossOptions().reduction(Reduction::BatchMean));
auto l = kl(log_softmax(logits, 1), target_probs);
  return l;
}

// ---- voxgrad/nn/softmax.hpp
Tensor softmax_functional(const Tensor& logits) {
Tensor p = F::softmax(logits, F::SoftmaxFuncOptions(1));
  return p;
}

Tensor softmax_module(const Tensor& logits) {
nn::Softmax softmax(1);  auto p = softmax(logits);
  return p;
}

// ---- voxgrad/nn/upsample.hpp
std::pair<UpsampleOptions, UpsampleOptions> upsample_options() {
auto twice = nn::UpsampleOptions().scale_factor({2, 2, 2}).mode(
    nn::UpsampleMode::Trilinear).align_corners(false);
auto sized = nn::UpsampleOptions().size({8, 8, 8});
  return {twice, sized};
}

Tensor upsample_module(const Tensor& x) {
nn::Upsample up(
    nn::UpsampleOptions().scale_factor(2).mode(UpsampleMode::Trilinear));
  return up(x);
}

// ---- voxgrad/nn/init.hpp
Tensor icnr_example(const nn::Conv3d& conv) {
nn::init::icnr_(conv->weight(), 2);
  return conv->weight();
}

// ---- voxgrad/nn/pixel_shuffle.hpp
Tensor pixel_shuffle_hpp(const Tensor& x) {
nn::PixelShuffle3d up(2);
  return up(x);
}

// ---- voxgrad/nn/module_holder.hpp
Tensor module_holder_hpp(const Tensor& x) {
nn::Linear fc(4, 8);      // makes a LinearImpl(4, 8)
Tensor y = fc(x);         // fc->forward(x)
fc->weight();             // the LinearImpl's members
  return y;
}

// ---- voxgrad/nn/activation.hpp
Shape prelu_hpp() {
nn::PReLU act(nn::PReLUOptions().num_parameters(16));
  return act->weight().shape();
}

// ---- voxgrad/nn/module.hpp: registering parameters and children, in the
// constructors of modules of the examples' own
struct BoundWeightImpl : Module {
  BoundWeightImpl(int64_t in, int64_t out) {
register_parameter("weight", weight_, empty({out, in}));
  }
  Tensor weight_;
};

struct KeptWeightImpl : Module {
  explicit KeptWeightImpl(const Tensor& w) {
weight_ = register_parameter("weight", w);
  }
  Tensor weight_;
};

struct ChildrenImpl : Module {
  explicit ChildrenImpl(const Conv3dOptions& options) {
conv_ = register_module("conv", nn::Conv3d(options));  // a handle
ptr_ = register_module("fc", std::make_shared<nn::LinearImpl>(2, 3));
  }
  nn::Conv3d conv_;
  std::shared_ptr<nn::LinearImpl> ptr_;
};

void forward_pre_hook_hpp(nn::Linear& m) {
m->register_forward_pre_hook(
    [](nn::Module&, const TensorList& in) { std::cout << in[0]; });
}

RemovableHandle forward_hook_hpp(nn::Linear& m) {
auto h = m->register_forward_hook(
    [](nn::Module&, const TensorList&, const TensorList& out) {
      return TensorList{out[0] * 2.0};
    });
  return h;
}

// ---- voxgrad/nn/pooling.hpp
AvgPool3dOptions avg_pool3d_options() {
auto avg = nn::AvgPool3dOptions(2).stride(2).padding(0).ceil_mode(false)
               .count_include_pad(true).divisor_override(std::nullopt);
  return avg;
}

Shape max_pool3d_module(const Tensor& x) {
nn::MaxPool3d pool(nn::MaxPool3dOptions(3).stride(2).padding(1));
  return pool(x).shape();
}

Shape avg_pool3d_module(const Tensor& x) {
nn::AvgPool3d pool(nn::AvgPool3dOptions(2));
  return pool(x).shape();
}

// clang-format on

}  // namespace

TEST_CASE("header examples: conv.hpp's functional calls, options and modules") {
  manual_seed(0);
  const Tensor x = rand({1, 2, 6, 6, 6});
  const auto [y, p] =
      conv3d_functional(x, randn({4, 2, 3, 3, 3}), randn({1, 4, 1, 1, 1}));
  CHECK(y.shape() == Shape{1, 4, 3, 3, 3});
  CHECK(p.shape() == Shape{1, 4, 6, 6, 6});
  CHECK(conv3d_options().padding_mode() == PaddingMode::Circular);
  CHECK(conv3d_module(rand({1, 1, 5, 5, 5})).shape() == Shape{1, 16, 5, 5, 5});
  const auto [plain, sized] = conv_transpose3d_module(rand({2, 3, 8, 8, 8}));
  CHECK(plain == Shape{2, 64, 15, 15, 15});
  CHECK(sized == Shape{2, 64, 16, 16, 16});
}

TEST_CASE("header examples: the layers' constructors and options") {
  CHECK(linear_hpp() == Shape{8, 4});
  CHECK(dropout_hpp() == 0.1);
  const BatchNormOptions bn = batch_norm_options();
  CHECK(bn.num_features() == 16);
  CHECK(bn.track_running_stats());
  CHECK(batch_norm3d_module() == Shape{16});
  CHECK(batch_norm1d_module() == Shape{64});
  CHECK(layer_norm_hpp() == Shape{64});
  CHECK(!instance_norm_options().affine());
  CHECK(instance_norm_module() == Shape{16});
  CHECK(prelu_hpp() == Shape{16});
  const auto [twice, sized] = upsample_options();
  CHECK(twice.mode() == UpsampleMode::Trilinear);
  CHECK(upsample_module(rand({1, 1, 2, 2, 2})).shape() == Shape{1, 1, 4, 4, 4});
  CHECK(
      pixel_shuffle_hpp(rand({1, 8, 2, 2, 2})).shape() == Shape{1, 1, 4, 4, 4});
  CHECK(module_holder_hpp(rand({3, 4})).shape() == Shape{3, 8});
}

TEST_CASE("header examples: embedding.hpp's lookups and bags") {
  manual_seed(0);
  const Tensor table = randn({10, 16});
  const Tensor labels = tensor({0, 3, 9}, kInt64);
  const Tensor e = embedding_functional(labels, table);
  CHECK(e.shape() == Shape{3, 16});
  CHECK(embedding_module(labels).shape() == Shape{3, 16});
  CHECK(test::bit_equal(embedding_from_pretrained(table), table));
  const Tensor tokens = tensor({1, 2, 3, 4, 5}, kInt64);
  const Tensor starts = tensor({0, 2}, kInt64);
  CHECK(
      embedding_bag_functional(tokens, table, starts).shape() == Shape{2, 16});
  CHECK(embedding_bag_module(tokens, starts).shape() == Shape{2, 8});
}

TEST_CASE("header examples: the losses and softmax") {
  manual_seed(0);
  const Tensor logits = randn({4, 5});
  const Tensor labels = tensor({1, 0, 4, 2}, kInt64);
  CHECK(test::bit_equal(
      cross_entropy_functional(logits, labels),
      cross_entropy_module(logits, labels)));
  CHECK(mse_loss_module(ones({3}), zeros({3})).item() == 1.0);
  const Tensor p = softmax_functional(logits);
  CHECK(test::bit_equal(p, softmax_module(logits)));
  CHECK(std::abs(kl_div_module(logits, p).item()) < 1e-6);  // same p: 0
}

TEST_CASE("header examples: module.hpp's registrations bind and return") {
  BoundWeightImpl bound(3, 2);
  CHECK(bound.weight_.shape() == Shape{2, 3});
  // Bound: a reparametrisation may replace what forward reads.
  CHECK_NOTHROW((void)bound.reparametrizable("weight", "test"));
  const Tensor w = ones({2, 2});
  KeptWeightImpl kept(w);
  CHECK(kept.weight_.requires_grad());
  CHECK(kept.named_parameters()[0].first == "weight");
  ChildrenImpl children(Conv3dOptions(1, 2, 3));
  CHECK(children.conv_->weight().shape() == Shape{2, 1, 3, 3, 3});
  CHECK(children.ptr_->weight().shape() == Shape{3, 2});
  CHECK(children.named_children()[1].first == "fc");
}

TEST_CASE("header examples: module.hpp's forward hooks") {
  nn::Linear m(2, 1);
  {
    NoGradGuard no_grad;
    m->weight().fill_(1);
    m->bias().fill_(0);
  }
  forward_pre_hook_hpp(m);
  std::ostringstream printed;
  std::streambuf* old = std::cout.rdbuf(printed.rdbuf());
  RemovableHandle h = forward_hook_hpp(m);
  const Tensor y = m(ones({1, 2}));
  std::cout.rdbuf(old);
  CHECK(!printed.str().empty());  // the pre-hook printed the input
  CHECK(y.item() == 4.0);         // (1 + 1) * 2: the hook doubled it
  h.remove();
  old = std::cout.rdbuf(printed.rdbuf());
  const Tensor z = m(ones({1, 2}));
  std::cout.rdbuf(old);
  CHECK(z.item() == 2.0);
}

TEST_CASE("header examples: pooling.hpp's options and modules") {
  const AvgPool3dOptions avg = avg_pool3d_options();
  const AvgPool3dOptions defaults(2);
  CHECK(avg.stride() == defaults.stride());
  CHECK(avg.padding() == defaults.padding());
  CHECK(avg.ceil_mode() == defaults.ceil_mode());
  CHECK(avg.count_include_pad() == defaults.count_include_pad());
  CHECK(avg.divisor_override() == defaults.divisor_override());
  const Tensor x = rand({1, 1, 8, 8, 8});
  CHECK(max_pool3d_module(x) == Shape{1, 1, 4, 4, 4});
  CHECK(avg_pool3d_module(x) == Shape{1, 1, 4, 4, 4});
}

TEST_CASE("header examples: init.hpp's ICNR gives equal sub-kernels") {
  manual_seed(0);
  nn::Conv3d conv(nn::Conv3dOptions(2, 8, 3).bias(false));
  const Tensor w = icnr_example(conv);
  // The 8 = 2^3 output channels of the one r^3 block are equal.
  CHECK(test::bit_equal(w.select(0, 0), w.select(0, 7)));
}

}  // namespace voxgrad::nn::doc_examples
