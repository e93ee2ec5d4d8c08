// Checkpoints, issue 10 class 5: whatever save() accepts, load() reads back
// (or save() refuses, naming the reason); load() checks everything, the
// file's size and the model's writability included, before it changes
// anything; errors are always voxgrad::Error and name the whole path; a
// failed optimizer step changes nothing.

#include <filesystem>
#include <random>

#include <nlohmann/json.hpp>

#include "test_util.hpp"
#include "voxgrad/core/atomic_file.hpp"
#include "voxgrad/nn/checkpoint.hpp"
#include "voxgrad/optim/adam.hpp"
#include "voxgrad/optim/lr_scheduler.hpp"
#include "voxgrad/optim/sgd.hpp"
#include "voxgrad/optim/state_dict.hpp"

namespace voxgrad {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using test::TempDir;

/// Two parameters and a buffer; `expanded_buffer` makes the buffer a
/// stride-0 view (cannot be written in place).
struct Net : nn::Module {
  Tensor w, b, stats;
  explicit Net(bool expanded_buffer = false, Dtype dt = kFloat32) {
    w = register_parameter("w", arange(6, dt).reshape({2, 3}) / 7.0);
    b = register_parameter("b", full({3}, 0.25, dt));
    stats = register_buffer(
        "stats", expanded_buffer ? ones({1, 3}, dt).expand({4, 3})
                                 : full({4, 3}, 2.0, dt));
  }
  Tensor forward(const Tensor& x) {
    return pow(matmul(x, w) + b, 2.0).sum();
  }
};

/// The bytes of every parameter and buffer, by name.
std::string fingerprint(const nn::Module& m) {
  std::string out;
  for (const auto& [n, t] : m.state_dict()) {
    const Tensor c = t.contiguous();
    out += n;
    out.append(
        static_cast<const char*>(c.raw_data()),
        static_cast<size_t>(c.numel()) * itemsize(c.dtype()));
  }
  return out;
}

/// The optimizer's whole state as text (options, steps, buffer bytes).
std::string fingerprint(const optim::Optimizer& opt, const nn::Module& m) {
  std::string out;
  const auto sd = opt.state_dict(m.named_parameters());
  for (const auto& g : sd.param_groups)
    out += g.options.dump();
  for (const auto& [n, st] : sd.state) {
    out += n + ":" + std::to_string(st.step);
    for (const auto& [b, t] : st.buffers) {
      const Tensor c = t.contiguous();
      out += b + dtype_name(c.dtype());
      out.append(
          static_cast<const char*>(c.raw_data()),
          static_cast<size_t>(c.numel()) * itemsize(c.dtype()));
    }
  }
  return out;
}

void train(Net& m, optim::Optimizer& opt, int steps) {
  for (int k = 0; k < steps; ++k) {
    opt.zero_grad();
    m.forward(ones({2, 2}, m.w.dtype())).backward();
    opt.step();
  }
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("load checks writability first: an expanded buffer changes nothing") {
  TempDir dir("ckpt");
  Net src;
  src.w.detach().fill_(5.0);
  save(dir / "c.json", src);
  Net dst(/*expanded_buffer=*/true);
  const std::string before = fingerprint(dst);
  for (const char* ext : {"c.json"}) {
    CHECK_ERROR_CONTAINS(
        load(dir / ext, dst), "buffers.stats", "expanded view",
        "stride 0 on axis 0 of [4, 3]", "nothing was changed");
    CHECK(fingerprint(dst) == before);  // w was not overwritten first
  }
  // Non-strict: the same (the buffer is in the file, so it would be written).
  CHECK_ERROR_CONTAINS(
      load(dir / "c.json", dst, nullptr, {.strict = false}), "buffers.stats");
  CHECK(fingerprint(dst) == before);
  // And save() refuses such a model, since load() could not read it back.
  CHECK_ERROR_CONTAINS(
      save(dir / "e.json", dst), "cannot write '", "e.json'", "buffers.stats",
      "expanded view", "load() could not write it back");
  CHECK_FALSE(fs::exists(dir / "e.json"));
}

TEST_CASE("a scheduler that drove lr to inf: save refuses, naming it") {
  TempDir dir("ckpt");
  Net m;
  optim::Adam opt(m.parameters(), optim::AdamOptions(1e-3));
  train(m, opt, 1);
  save(dir / "c.json", m, &opt, {{"good", true}});
  const std::string good = test::read_bytes(dir / "c.json");
  optim::StepLR sched(opt, 1, 1e200);
  for (int k = 0; k < 3; ++k)
    sched.step();
  REQUIRE(std::isinf(opt.lr()));
  const std::string msg =
      test::error_of([&] { save(dir / "c.json", m, &opt); });
  CHECK(contains(msg, "save: cannot write '" + (dir / "c.json") + "'"));
  CHECK(contains(msg, "lr must be >= 0 and finite (got inf)"));
  // Also from a negative lr set through the options, and NaN.
  opt.param_group(0).options().set_lr(-0.5);
  CHECK_ERROR_CONTAINS(save(dir / "c.json", m, &opt), "lr must be >= 0");
  opt.param_group(0).options().set_lr(NAN);
  CHECK_ERROR_CONTAINS(save(dir / "c.json", m, &opt), "got nan");
  CHECK(test::read_bytes(dir / "c.json") == good);  // the old file stays
  CHECK(dir.entries() == std::vector<std::string>{"c.json"});
}

TEST_CASE("metadata save refuses is exactly what load would refuse") {
  TempDir dir("ckpt");
  Net m;
  const std::string p = dir / "m.json";
  auto nested = [](int levels) {
    json j = 1;
    for (int i = 0; i < levels; ++i)
      j = json::array({j});
    return j;
  };
  // Nesting: metadata sits at level 2 (the root object is level 1), so 62
  // arrays inside it reach level 64, the loader's limit.
  save(p, m, nullptr, {{"deep", nested(62)}});
  CHECK(load(p, m)["deep"] == nested(62));
  CHECK_ERROR_CONTAINS(
      save(p, m, nullptr, {{"deep", nested(63)}}), "metadata.deep[0]",
      "nests deeper than 64");
  CHECK(load(p, m)["deep"] == nested(62));  // untouched by the refusal
  // Non-finite numbers anywhere, binary values, invalid UTF-8 (values, keys).
  const std::vector<std::pair<json, const char*>> bad = {
      {{{"x", {1.0, INFINITY}}}, "metadata.x[1] is inf"},
      {{{"a", {{"b", -INFINITY}}}}, "metadata.a.b is -inf"},
      {{{"n", NAN}}, "metadata.n is nan"},
      {{{"bin", json::binary({1, 2, 3})}}, "metadata.bin is a binary value"},
      {{{"s", "ok\xc3("}}, "metadata.s is a string that is not valid UTF-8"},
      {{{"\xff", 1}}, "a key of metadata is not valid UTF-8"},
  };
  for (const auto& entry : bad) {
    // Named copies, not a structured binding: clang 14 cannot capture a
    // binding in the lambda CHECK_ERROR_CONTAINS makes.
    const json& meta = entry.first;
    const char* expect = entry.second;
    CAPTURE(expect);
    CHECK_ERROR_CONTAINS(save(p, m, nullptr, meta), expect);
  }
  // Size: the compact JSON of the metadata may reach the limit, not pass it.
  const size_t overhead = json({{"s", ""}}).dump().size();
  const std::string fill(kMaxCheckpointMetadataBytes - overhead, 'x');
  save(p, m, nullptr, {{"s", fill}});
  CHECK(load(p, m)["s"].get_ref<const std::string&>().size() == fill.size());
  CHECK_ERROR_CONTAINS(
      save(p, m, nullptr, {{"s", fill + "x"}}), "metadata is 67108865 bytes",
      "more than load() reads (67108864)");
  // Values: more than the loader's 4 Mi JSON values is refused by save.
  json many = json::array();
  many.get_ref<json::array_t&>().resize(size_t{1} << 22);
  CHECK_ERROR_CONTAINS(
      save(p, m, nullptr, {{"many", many}}), "more than 4194304 JSON values");
  CHECK(dir.entries() == std::vector<std::string>{"m.json"});
}

TEST_CASE("a model moved to float64 after optimizer steps saves and loads") {
  TempDir dir("ckpt");
  for (bool amsgrad : {false, true}) {
    Net m;
    optim::Adam opt(m.parameters(), optim::AdamOptions(0.01).amsgrad(amsgrad));
    train(m, opt, 2);
    m.to(kFloat64);  // the Adam moments are still float32
    save(dir / "f64.json", m, &opt);
    Net back(false, kFloat64);
    optim::Adam opt2(
        back.parameters(), optim::AdamOptions(0.5).amsgrad(amsgrad));
    load(dir / "f64.json", back, &opt2);
    CHECK(fingerprint(back) == fingerprint(m));
    // The state came back cast to the parameters' dtype (PyTorch's rule).
    const optim::ParamState* st = opt2.state(back.w);
    REQUIRE(st != nullptr);
    CHECK(st->step == 2);
    for (const auto& [name, t] : st->buffers)
      CHECK(t.dtype() == kFloat64);
    // ... and both optimizers step on from there identically.
    train(m, opt, 1);
    train(back, opt2, 1);
    CHECK(fingerprint(back) == fingerprint(m));
    CHECK(opt.state(m.w)->step == 3);
  }
  // A float32 model loads a float64 optimizer state too (cast down).
  Net m64(false, kFloat64);
  optim::SGD sgd(m64.parameters(), optim::SGDOptions(0.1).momentum(0.9));
  train(m64, sgd, 2);
  save(dir / "sgd.json", m64, &sgd);
  Net m32;
  optim::SGD sgd32(m32.parameters(), optim::SGDOptions(0.1).momentum(0.9));
  CHECK_ERROR_CONTAINS(
      load(dir / "sgd.json", m32, &sgd32), "params.w", "f64 [2, 3]",
      "does not match the model's f32");  // parameters keep their dtype rule
}

TEST_CASE("step after Module::to(kFloat64) converts the optimizer's state") {
  for (bool sgd : {false, true}) {
    CAPTURE(sgd);
    Net m;
    std::unique_ptr<optim::Optimizer> opt;
    if (sgd)
      opt = std::make_unique<optim::SGD>(
          m.parameters(), optim::SGDOptions(0.01).momentum(0.9));
    else
      opt = std::make_unique<optim::Adam>(
          m.parameters(), optim::AdamOptions(0.01).amsgrad(true));
    train(m, *opt, 2);
    opt->zero_grad();
    m.forward(ones({2, 2})).backward();
    m.to(kFloat64);  // converts parameters and their gradients, not the state
    opt->step();
    for (const Tensor& p : {m.w, m.b}) {
      const optim::ParamState* st = opt->state(p);
      REQUIRE(st != nullptr);
      CHECK(st->step == 3);
      CHECK(!st->buffers.empty());
      for (const auto& [name, t] : st->buffers)
        CHECK(t.dtype() == kFloat64);
    }
    // A float32 model stepped the same way, converted afterwards, agrees to
    // float32 rounding.
    Net ref;
    std::unique_ptr<optim::Optimizer> ropt;
    if (sgd)
      ropt = std::make_unique<optim::SGD>(
          ref.parameters(), optim::SGDOptions(0.01).momentum(0.9));
    else
      ropt = std::make_unique<optim::Adam>(
          ref.parameters(), optim::AdamOptions(0.01).amsgrad(true));
    train(ref, *ropt, 3);
    CHECK(test::allclose(m.w, ref.w.to(kFloat64), 1e-6, 1e-5));
    CHECK(test::allclose(m.b, ref.b.to(kFloat64), 1e-6, 1e-5));
  }
}

TEST_CASE("a failed step changes nothing, not even the step count") {
  Net m;
  optim::Adam opt(m.parameters(), optim::AdamOptions(0.01));
  train(m, opt, 2);
  m.forward(ones({2, 2})).backward();
  // A gradient of another dtype than its parameter (set_grad refuses one;
  // this simulates a gradient left behind by other means) on the second
  // parameter: refused naming the optimizer, the parameter and both dtypes.
  m.b.impl()->grad = ones({3}, kFloat64);
  const std::string before = fingerprint(m) + fingerprint(opt, m);
  CHECK_ERROR_CONTAINS(
      opt.step(), "Adam.step", "parameter 1 of group 0 (float32 [3])",
      "float64 [3]", "nothing was changed");
  CHECK(fingerprint(m) + fingerprint(opt, m) == before);
  CHECK(opt.state(m.w)->step == 2);
  CHECK(opt.state(m.b)->step == 2);
  // An expanded parameter cannot be stepped: refused before the first
  // parameter of the list is touched, and no state is created.
  struct Shared : nn::Module {
    Tensor a, e;
    Shared() {
      a = register_parameter("a", ones({3}));
      e = register_parameter("e", ones({1, 2}).expand({3, 2}));
    }
  } s;
  optim::SGD sgd(s.parameters(), optim::SGDOptions(0.1).momentum(0.5));
  s.a.set_grad(ones({3}));
  s.e.set_grad(ones({3, 2}));
  const std::string before2 = fingerprint(s);
  CHECK_ERROR_CONTAINS(
      sgd.step(), "SGD.step", "parameter 1 of group 0", "expanded view");
  CHECK(fingerprint(s) == before2);
  CHECK(sgd.state(s.a) == nullptr);
}

TEST_CASE("a 64 GiB file is refused by size before it is read") {
  TempDir dir("ckpt");
  Net m;
  optim::Adam opt(m.parameters(), optim::AdamOptions(0.01));
  for (const char* name : {"huge.json", "huge.cbor"}) {
    const std::string p = dir / name;
    test::write_bytes(p, "{");
    fs::resize_file(p, uint64_t{64} << 30);  // sparse
    for (bool strict : {true, false}) {
      const std::string msg =
          test::error_of([&] { load(p, m, &opt, {.strict = strict}); });
      CHECK(contains(msg, "load('" + p + "')"));
      CHECK(contains(msg, "68719476736 bytes, more than"));
      CHECK(contains(msg, "nothing was read or changed"));
    }
  }
  // The limit follows the model: a bigger model's checkpoint is not refused
  // by a small one's limit unless the file really is larger.
  CHECK(max_checkpoint_bytes(m, &opt) < max_checkpoint_bytes(m, &opt, false));
  save(dir / "ok.json", m, &opt);
  const auto size = fs::file_size(dir / "ok.json");
  CHECK(size <= max_checkpoint_bytes(m, &opt));
  CHECK_ERROR_CONTAINS(
      load(dir / "ok.json", m, &opt, {.max_bytes = size - 1}),
      "LoadOptions::max_bytes");
  load(dir / "ok.json", m, &opt, {.max_bytes = size});
  // In memory too (the fuzzer's entry point).
  const std::string text = test::read_bytes(dir / "ok.json");
  CHECK_ERROR_CONTAINS(
      detail::load_from_bytes(
          {reinterpret_cast<const uint8_t*>(text.data()), text.size()}, false,
          "mem", m, &opt, {.max_bytes = 10}),
      "load('mem')", "more than 10");
}

TEST_CASE(
    "a 250-character file name saves and loads, and paths are never cut") {
  TempDir dir("ckpt");
  Net m;
  optim::Adam opt(m.parameters(), optim::AdamOptions(0.01));
  train(m, opt, 1);
  for (const char* ext : {".json", ".cbor"}) {
    const std::string name = std::string(250 - std::strlen(ext), 'c') + ext;
    save(dir / name, m, &opt, {{"n", 1}});
    Net back;
    optim::Adam opt2(back.parameters(), optim::AdamOptions(0.5));
    CHECK(load(dir / name, back, &opt2) == json{{"n", 1}});
    CHECK(fingerprint(back) == fingerprint(m));
  }
  CHECK(dir.entries().size() == 2);
  // Messages quote the whole path, however long, so the name survives.
  const std::string deep =
      dir / (std::string(120, 'd') + "/" + std::string(130, 'e') + "_end.json");
  CHECK_ERROR_CONTAINS(load(deep, m), "_end.json')");
  CHECK_ERROR_CONTAINS(save(deep, m), "_end.json'");
  const std::string bad = dir / (std::string(200, 'b') + "_tail.json");
  test::write_bytes(bad, "{\"format\": 1}");
  CHECK_ERROR_CONTAINS(load(bad, m), "_tail.json'): ", "problem(s)");
}

TEST_CASE("checkpoint save on a full disk keeps the previous checkpoint") {
  TempDir dir("ckpt");
  Net m;
  optim::Adam opt(m.parameters(), optim::AdamOptions(0.01));
  const std::string p = dir / "c.json";
  save(p, m, &opt, {{"which", "old"}});
  const std::string old = test::read_bytes(p);
  train(m, opt, 1);
  for (uint64_t limit : {uint64_t{0}, uint64_t{10}, old.size() / 2}) {
    const std::string msg = test::in_child(
        [&] {
          save(p, m, &opt, {{"which", "new"}});
        },
        test::Fault::FileSizeLimit, limit);
    CHECK(contains(msg, "save: cannot write '" + p + "'"));
    CHECK(contains(msg, "File too large"));
    CHECK(test::read_bytes(p) == old);
    CHECK(dir.entries() == std::vector<std::string>{"c.json"});
  }
  Net back;
  CHECK(load(p, back) == json{{"which", "old"}});
}

}  // namespace voxgrad
