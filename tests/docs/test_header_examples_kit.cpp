// The ```cpp usage examples of the research kit's newer headers
// (attention, max unpooling, parameter EMA), verbatim (ctest
// docs_snippets_in_sync checks that), compiled and run here, one function
// per example as in test_header_examples_nn.cpp. Edit a header's example
// and its copy together.
#include <cstdio>
#include <string>

#include "test_util.hpp"
#include "voxgrad/nn/attention.hpp"
#include "voxgrad/nn/checkpoint.hpp"
#include "voxgrad/nn/linear.hpp"
#include "voxgrad/nn/max_unpool.hpp"
#include "voxgrad/nn/module_hooks.hpp"
#include "voxgrad/nn/pooling.hpp"
#include "voxgrad/nn/utils/ema.hpp"
#include "voxgrad/nn/utils/weight_reparam.hpp"

namespace voxgrad::nn::doc_examples_kit {
namespace {

using test::allclose;

// clang-format off

// ---- voxgrad/nn/attention.hpp
Tensor sdpa_hpp(const Tensor& q, const Tensor& k, const Tensor& v) {
Tensor y = F::scaled_dot_product_attention(q, k, v, {}, 0.0, true);
  return y;
}

std::pair<Tensor, Tensor> mha_hpp(const Tensor& x) {
nn::MultiheadAttention mha(nn::MultiheadAttentionOptions(64, 4));
auto [y, w] = mha(x, x, x);
  return {y, w};
}

// ---- voxgrad/nn/max_unpool.hpp
std::pair<Tensor, Tensor> max_unpool_hpp(const Tensor& x) {
nn::MaxPool3d pool(nn::MaxPool3dOptions(2));
nn::MaxUnpool3d unpool(nn::MaxUnpool3dOptions(2));
auto [y, i] = pool->forward_with_indices(x);
Tensor back = unpool(y, i, x.shape());  // output_size: x's (odd) size
  return {y, back};
}

// ---- voxgrad/nn/utils/ema.hpp
template <class TrainStep, class Sample>
int64_t ema_hpp(nn::Linear& model, TrainStep train_step, Sample sample) {
nn::utils::ExponentialMovingAverage ema(
    model, nn::utils::ExponentialMovingAverageOptions(0.999).warmup(true));
for (int step = 0; step < 3; ++step) {
  train_step(model);              // forward, backward, optimizer step
  ema->update(model);             // one fused pass over every parameter
}
{
  auto averaged = ema->swap(model);  // the model holds the averages...
  sample(model);
}                                    // ...and its trained values again
voxgrad::save("ema.json", ema);    // or register it as a child of a
                                   // module that is saved with the model
  return ema->num_updates();
}

// ---- voxgrad/nn/module_hooks.hpp
template <class Hook>
void removable_handle_hpp(nn::Linear& model, Hook print_shapes, const Tensor& x) {
auto h = model->register_forward_hook(print_shapes);
model(x);     // prints the shapes
h.remove();
model(x);     // prints nothing
}

// ---- voxgrad/nn/utils/weight_reparam.hpp
Tensor weight_reparam_hpp(const Tensor& x) {
auto fc = nn::utils::spectral_norm(nn::Linear(16, 8));
fc->named_parameters();  // bias, weight_orig
fc->named_buffers();     // weight_u, weight_v
Tensor y = fc(x);        // fc->weight() = weight_orig / sigma now
nn::utils::remove_spectral_norm(*fc);  // a plain "weight" again
  return y;
}

nn::Conv3d spectral_norm_module_hpp() {
  nn::Conv3d conv(nn::Conv3dOptions(2, 4, 3));
nn::utils::spectral_norm(*conv);
  return conv;
}

nn::Linear spectral_norm_handle_hpp() {
auto fc = nn::utils::spectral_norm(nn::Linear(16, 8));
  return fc;
}

nn::Linear weight_norm_hpp() {
  nn::Linear fc(nn::LinearOptions(16, 8));
nn::utils::weight_norm(*fc);
  return fc;
}

// clang-format on

TEST_CASE("header examples: module_hooks.hpp's handle removes the hook") {
  nn::Linear model(nn::LinearOptions(3, 2));
  int calls = 0;
  removable_handle_hpp(
      model,
      [&calls](nn::Module&, const TensorList&, const TensorList& out) {
        ++calls;
        CHECK(out.at(0).shape() == Shape{4, 2});
      },
      randn({4, 3}));
  CHECK(calls == 1);
}

TEST_CASE("header examples: weight_reparam.hpp's spectral and weight norm") {
  manual_seed(3);
  CHECK(weight_reparam_hpp(randn({5, 16})).shape() == Shape{5, 8});
  const auto names = [](const NamedTensors& list) {
    std::vector<std::string> n;
    for (const auto& entry : list)
      n.push_back(entry.first);
    return n;
  };
  const nn::Conv3d conv = spectral_norm_module_hpp();
  CHECK(
      names(conv->named_buffers()) ==
      std::vector<std::string>{"weight_u", "weight_v"});
  const nn::Linear fc = spectral_norm_handle_hpp();
  CHECK(
      names(fc->named_parameters()) ==
      std::vector<std::string>{"bias", "weight_orig"});
  const nn::Linear wn = weight_norm_hpp();
  CHECK(
      names(wn->named_parameters()) ==
      std::vector<std::string>{"bias", "weight_g", "weight_v"});
}

TEST_CASE("header examples: attention.hpp's functional and module") {
  manual_seed(0);
  const Tensor q = randn({2, 5, 8}), k = randn({2, 5, 8}), v = randn({2, 5, 8});
  const Tensor y = sdpa_hpp(q, k, v);
  CHECK(y.shape() == Shape{2, 5, 8});
  // Causal: the first query sees only the first key, so it returns v[:, 0].
  CHECK(allclose(y.select(1, 0), v.select(1, 0)));
  const auto [out, w] = mha_hpp(randn({7, 3, 64}));  // (L, N, E)
  CHECK(out.shape() == Shape{7, 3, 64});
  CHECK(w.shape() == Shape{3, 7, 7});
  CHECK(allclose(sum(w, {2}), ones({3, 7}), 1e-5));
}

TEST_CASE("header examples: max_unpool.hpp puts each maximum back") {
  manual_seed(1);
  const Tensor x = randn({1, 2, 5, 7, 6});
  const auto [y, back] = max_unpool_hpp(x);
  CHECK(back.shape() == x.shape());
  // Every value of the pool is in `back`, the rest is zero.
  CHECK(sum(back).item() == doctest::Approx(sum(y).item()).epsilon(1e-5));
  CHECK(amax(back).item() == doctest::Approx(amax(x).item()));
}

TEST_CASE("header examples: ema.hpp's loop, swap and save") {
  manual_seed(2);
  nn::Linear model(nn::LinearOptions(4, 2));
  const Tensor before = model->weight().clone();
  int samples = 0;
  const int64_t updates = ema_hpp(
      model,
      [](nn::Linear& m) {
        NoGradGuard no_grad;
        m->weight().copy_(m->weight() + 1.0);
      },
      [&](nn::Linear& m) {
        ++samples;
        // Warm-up decays 1/10, 2/11, 3/12 towards +1, +2, +3: the average
        // is 0.9, then 1.8, then 2.7 above the initial weights.
        CHECK(allclose(m->weight(), before + 2.7, 1e-5));
      });
  CHECK(updates == 3);
  CHECK(samples == 1);
  // Back to the trained values after the swap's scope.
  CHECK(allclose(model->weight(), before + 3.0));
  std::remove("ema.json");
}

}  // namespace
}  // namespace voxgrad::nn::doc_examples_kit
