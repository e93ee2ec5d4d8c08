// nn::utils::ExponentialMovingAverage: the average against a plain float64
// recurrence (warm-up on and off), float32 against float64, the same bits on
// every ISA and thread count, AveragedModel's state layout, a checkpointed
// run resumed bit-identically, copy_to and the scoped swap, buffers, and the
// errors.

#include <cmath>

#include <nlohmann/json.hpp>

#include "test_util.hpp"
#include "voxgrad/core/kernels/isa.hpp"
#include "voxgrad/nn/utils/ema.hpp"

namespace voxgrad::nn::utils {
namespace {

using test::bit_equal;
using test::with_threads;
using EMA = ExponentialMovingAverage;
using EMAOptions = ExponentialMovingAverageOptions;

Sequential small_model(Dtype dt, uint64_t seed) {
  Generator g(seed);
  Sequential m(Linear(3, 37), Linear(37, 2));
  m->to(dt);
  for (const Tensor& p : m->parameters())
    p.detach().copy_(randn(p.shape(), dt, &g));
  return m;
}

/// A pretend optimizer step: every parameter moves by a seeded amount.
void perturb(const Module& m, Generator& g) {
  NoGradGuard no_grad;
  for (const Tensor& p : m.parameters())
    p.detach().copy_(p + randn(p.shape(), p.dtype(), &g) * 0.1);
}

}  // namespace

TEST_CASE("EMA follows the float64 recurrence, with and without warm-up") {
  for (bool warmup : {false, true}) {
    CAPTURE(warmup);
    Sequential model = small_model(kFloat64, 1);
    EMA ema(model, EMAOptions(0.9).warmup(warmup));
    // The reference: per tensor, avg = avg - (1 - d_n) (avg - p), and the
    // textbook d avg + (1 - d) p in double.
    std::vector<std::vector<double>> ref, textbook;
    for (const Tensor& p : model->parameters()) {
      ref.push_back(p.to_vector<double>());
      textbook.push_back(p.to_vector<double>());
    }
    Generator g(2);
    for (int64_t n = 0; n < 12; ++n) {
      perturb(*model, g);
      const double d = warmup ? std::min(0.9, (1.0 + n) / (10.0 + n)) : 0.9;
      CHECK(ema->decay_at(n) == d);
      CHECK(ema->num_updates() == n);
      ema->update(model);
      const TensorList ps = model->parameters();
      for (size_t i = 0; i < ps.size(); ++i) {
        const auto p = ps[i].to_vector<double>();
        for (size_t j = 0; j < p.size(); ++j) {
          ref[i][j] = ref[i][j] - (1 - d) * (ref[i][j] - p[j]);
          textbook[i][j] = d * textbook[i][j] + (1 - d) * p[j];
        }
      }
    }
    CHECK(ema->num_updates() == 12);
    const auto names = ema->tracked_names();
    REQUIRE(names.size() == 4);
    for (size_t i = 0; i < names.size(); ++i) {
      const auto got = ema->average(names[i]).to_vector<double>();
      CHECK(got == ref[i]);  // bit for bit
      for (size_t j = 0; j < got.size(); ++j)
        CHECK(std::abs(got[j] - textbook[i][j]) < 1e-13);
    }
  }
}

TEST_CASE("EMA in float32 stays within float32 rounding of float64") {
  Sequential m64 = small_model(kFloat64, 3);
  Sequential m32 = small_model(kFloat64, 3);
  m32->to(kFloat32);
  EMA e64(m64, EMAOptions(0.99).warmup(true));
  EMA e32(m32, EMAOptions(0.99).warmup(true));
  Generator g64(4), g32(4);
  for (int step = 0; step < 30; ++step) {
    perturb(*m64, g64);
    // The same perturbation, rounded to float32.
    perturb(*m32, g32);
    e64->update(m64);
    e32->update(m32);
  }
  for (const std::string& n : e64->tracked_names()) {
    CAPTURE(n);
    CHECK(
        test::max_abs_diff(e32->average(n).to(kFloat64), e64->average(n)) <
        1e-5);
  }
}

TEST_CASE("EMA updates are the same bits on every ISA and thread count") {
  namespace vk = kernels;
  struct Restore {
    ~Restore() {
      vk::set_isa(vk::Isa::Auto);
    }
  } restore;
  // Sizes around the vector widths and the 16384-element work units.
  Generator g(5);
  std::vector<Tensor> ref;
  for (vk::Isa isa : {vk::Isa::Generic, vk::Isa::Avx2, vk::Isa::Avx512}) {
    if (!vk::cpu_supports(isa))
      continue;
    REQUIRE(vk::set_isa(isa));
    for (int threads : {1, 2, 3}) {
      CAPTURE(vk::isa_name(isa));
      CAPTURE(threads);
      with_threads(threads, [&] {
        for (Dtype dt : {kFloat32, kFloat64}) {
          Sequential m(Linear(7, 5), Linear(5, 16384 / 5 + 3));
          m->to(dt);
          Generator gm(6);
          for (const Tensor& p : m->parameters())
            p.detach().copy_(randn(p.shape(), dt, &gm));
          EMA ema(m, EMAOptions(0.95).warmup(true));
          Generator gp(7);
          for (int s = 0; s < 3; ++s) {
            perturb(*m, gp);
            ema->update(m);
          }
          for (const std::string& n : ema->tracked_names())
            ref.push_back(ema->average(n));
        }
      });
    }
  }
  // ref holds (isas x threads) runs of 8 tensors each; all equal the first.
  REQUIRE(ref.size() % 8 == 0);
  for (size_t i = 8; i < ref.size(); ++i) {
    CAPTURE(i);
    CHECK(bit_equal(ref[i], ref[i % 8]));
  }
}

TEST_CASE("EMA state has the AveragedModel layout") {
  Sequential model = small_model(kFloat32, 8);
  EMA ema(model, 0.999);
  std::vector<std::string> keys;
  for (const auto& [k, t] : ema->state_dict())
    keys.push_back(k + ":" + dtype_name(t.dtype()) + shape_str(t.shape()));
  CHECK(
      keys == std::vector<std::string>{
                  "n_averaged:int64[]", "module.0.weight:float32[37, 3]",
                  "module.0.bias:float32[37]", "module.1.weight:float32[2, 37]",
                  "module.1.bias:float32[2]"});
  CHECK(ema->parameters().empty());  // nothing for an optimizer to train
  // The averages start as copies, not aliases, of the parameters.
  const Tensor w = model->parameters()[0];
  CHECK(bit_equal(ema->average("0.weight"), w));
  CHECK_FALSE(ema->average("0.weight").shares_storage_with(w));
  std::ostringstream os;
  os << *ema.ptr();
  CHECK(
      os.str().find("ExponentialMovingAverage(decay=0.999, warmup=false, "
                    "use_buffers=false") != std::string::npos);
}

TEST_CASE(
    "a run resumed from checkpoints of model, optimizer and EMA is "
    "bit-identical") {
  test::TempDir dir("ema");
  const auto train = [](Sequential& model, optim::SGD& opt, EMA& ema, int from,
                        int to) {
    for (int step = from; step < to; ++step) {
      Generator g(100 + static_cast<uint64_t>(step));
      const Tensor x = randn({4, 3}, kFloat32, &g);
      opt.zero_grad();
      const Tensor y = model(x);
      (y * y).mean().backward();
      opt.step();
      ema->update(model);
    }
  };
  Sequential a = small_model(kFloat32, 9);
  optim::SGD opt_a(a->parameters(), optim::SGDOptions(0.05).momentum(0.9));
  EMA ema_a(a, EMAOptions(0.9).warmup(true));
  train(a, opt_a, ema_a, 0, 3);
  save(dir / "model.json", *a, &opt_a);
  save(dir / "ema.json", *ema_a);
  train(a, opt_a, ema_a, 3, 6);

  Sequential b = small_model(kFloat32, 10);  // other values, overwritten
  optim::SGD opt_b(b->parameters(), optim::SGDOptions(0.05).momentum(0.9));
  EMA ema_b(b, EMAOptions(0.9).warmup(true));
  load(dir / "model.json", *b, &opt_b);
  load(dir / "ema.json", *ema_b);
  CHECK(ema_b->num_updates() == 3);
  train(b, opt_b, ema_b, 3, 6);
  CHECK(ema_b->num_updates() == 6);
  for (const std::string& n : ema_a->tracked_names()) {
    CAPTURE(n);
    CHECK(bit_equal(ema_a->average(n), ema_b->average(n)));
  }
  for (size_t i = 0; i < a->parameters().size(); ++i)
    CHECK(bit_equal(a->parameters()[i], b->parameters()[i]));
}

TEST_CASE("EMA copy_to and the scoped swap are exact") {
  Sequential model = small_model(kFloat32, 11);
  EMA ema(model, 0.5);
  Generator g(12);
  perturb(*model, g);
  ema->update(model);
  perturb(*model, g);
  TensorList trained;
  for (const Tensor& p : model->parameters())
    trained.push_back(p.clone());
  const auto names = ema->tracked_names();
  TensorList averages;
  for (const std::string& n : names)
    averages.push_back(ema->average(n).clone());
  {
    const AverageSwap swapped = ema->swap(model);
    for (size_t i = 0; i < names.size(); ++i) {
      CHECK(bit_equal(model->parameters()[i], averages[i]));
      CHECK(bit_equal(ema->average(names[i]), trained[i]));
    }
  }
  for (size_t i = 0; i < names.size(); ++i)
    CHECK(bit_equal(model->parameters()[i], trained[i]));
  Sequential other = small_model(kFloat32, 13);
  ema->copy_to(other);
  for (size_t i = 0; i < names.size(); ++i) {
    CHECK(bit_equal(other->parameters()[i], ema->average(names[i])));
    CHECK(other->parameters()[i].requires_grad());
  }
}

namespace {
struct WithBuffers : Module {
  WithBuffers() {
    w = register_parameter("w", ones({3}));
    stat = register_buffer("stat", zeros({3}));
    count = register_buffer("count", zeros({}, kInt64));
  }
  Tensor w, stat, count;
};
}  // namespace

TEST_CASE("EMA with use_buffers averages float buffers and copies int64") {
  WithBuffers m;
  EMA plain(m, 0.5);
  CHECK(plain->tracked_names() == std::vector<std::string>{"w"});
  EMA ema(m, EMAOptions(0.5).use_buffers(true));
  CHECK(ema->tracked_names() == std::vector<std::string>{"w", "stat", "count"});
  m.stat.fill_(2);
  m.count.fill_(7);
  ema->update(m);
  CHECK(
      ema->average("stat").to_vector<double>() == std::vector<double>{1, 1, 1});
  CHECK(ema->average("count").item<int64_t>() == 7);
  CHECK(ema->average("w").to_vector<double>() == std::vector<double>{1, 1, 1});
}

TEST_CASE("EMA refuses bad decays and a model that is not its own") {
  Sequential model = small_model(kFloat32, 14);
  for (double d : {-0.1, 1.5, std::nan("")}) {
    CHECK_ERROR_CONTAINS(
        EMA(model, d), "ExponentialMovingAverage", "decay", "[0, 1]");
  }
  CHECK_ERROR_CONTAINS(EMA(model, 1.5), "1.5");
  EMA ema(model, 0.9);
  CHECK_ERROR_CONTAINS(ema->decay_at(-1), "decay_at", "-1");
  Sequential bigger(Linear(3, 37), Linear(37, 2), Linear(2, 2));
  CHECK_ERROR_CONTAINS(
      ema->update(bigger), "update", "6 parameters", "tracks 4");
  Sequential shaped(Linear(3, 36), Linear(36, 2));
  CHECK_ERROR_CONTAINS(
      ema->copy_to(shaped), "copy_to", "'0.weight'", "[36, 3]", "[37, 3]");
  Sequential f64 = small_model(kFloat64, 14);
  CHECK_ERROR_CONTAINS(ema->swap(f64), "swap", "float64", "float32");
  WithBuffers m;
  CHECK_ERROR_CONTAINS(
      EMA(m, 0.5)->update(model), "update", "has 4 parameters", "tracks 1");
  CHECK_ERROR_CONTAINS(ema->average("nope"), "no tracked tensor 'nope'");
  // A failed update changes nothing.
  const Tensor before = ema->average("0.weight").clone();
  CHECK_ERROR_CONTAINS(ema->update(shaped), "update");
  CHECK(bit_equal(before, ema->average("0.weight")));
  CHECK(ema->num_updates() == 0);
}

}  // namespace voxgrad::nn::utils
