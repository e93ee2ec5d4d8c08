// libFuzzer target for the checkpoint loader. Each input is fed to the JSON
// and the CBOR paths; inputs that parse as a JSON object are also given a
// correct checksum and loaded again, so the fuzzer reaches the validation
// behind the checksum and the apply step. Oracles, besides the sanitizers:
//   * only voxgrad::Error may escape a load (anything else is a crash);
//   * a failed load leaves the model and optimizer byte-for-byte unchanged;
//   * a successful load can be saved and loaded back bit-identically.
//
// Built and run by scripts/fuzz.sh. With VOXGRAD_FUZZ_WRITE_SEEDS=DIR set, it
// writes a seed corpus of valid checkpoints into DIR and exits.

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "voxgrad/autograd/ops.hpp"
#include "voxgrad/nn/checkpoint.hpp"
#include "voxgrad/optim/adam.hpp"
#include "voxgrad/optim/sgd.hpp"

namespace {

using namespace voxgrad;
using json = nlohmann::json;

struct Inner : nn::Module {
  Tensor weight, running;
  Inner() {
    weight = register_parameter("weight", arange(6).reshape({2, 3}) / 7.0);
    running = register_buffer("running", ones({3}));
  }
};

struct Tiny : nn::Module {
  std::shared_ptr<Inner> inner;
  Tensor bias;
  Tiny() {
    inner = register_module("inner", std::make_shared<Inner>());
    bias = register_parameter("bias", full({1, 2, 1, 1, 1}, 0.25, kFloat64));
  }
};

/// Model bytes plus the optimizer's state as a document (for comparisons).
std::string fingerprint(const Tiny& m, const optim::Optimizer& opt) {
  std::string out;
  for (const auto& [n, t] : m.state_dict()) {
    out += n;
    out.append(
        static_cast<const char*>(t.raw_data()),
        static_cast<size_t>(t.numel()) * itemsize(t.dtype()));
  }
  return out + detail::checkpoint_document(m, &opt, {}).dump();
}

struct Fixture {
  Tiny model;
  optim::Adam opt{model.parameters(), optim::AdamOptions(0.01).amsgrad(true)};
  json pristine;
  Fixture() {
    for (int k = 0; k < 2; ++k) {
      model.inner->weight.set_grad(ones({2, 3}));
      model.bias.set_grad(full({1, 2, 1, 1, 1}, -1.0, kFloat64));
      opt.step();
    }
    pristine = detail::checkpoint_document(model, &opt, {});
    pristine["checksum"] = detail::checkpoint_checksum(pristine);
  }
  void reset() {
    const std::string s = pristine.dump();
    detail::load_from_bytes(
        {reinterpret_cast<const uint8_t*>(s.data()), s.size()}, false,
        "pristine", model, &opt, {});
  }
};

void write_seeds(const std::string& dir) {
  Fixture f;
  std::filesystem::create_directories(dir);
  const json variants[] = {
      detail::checkpoint_document(f.model, &f.opt, {{"epoch", 3}}),
      detail::checkpoint_document(f.model, nullptr, {}),
      detail::checkpoint_document(
          f.model, &f.opt, {{"note", "x"}, {"list", {1, 2.5, -3}}})};
  int i = 0;
  for (json doc : variants) {
    doc["checksum"] = detail::checkpoint_checksum(doc);
    const std::string text = doc.dump();
    const std::vector<uint8_t> cbor = json::to_cbor(doc);
    std::ofstream(dir + "/seed" + std::to_string(i) + ".json", std::ios::binary)
        << text;
    std::ofstream(dir + "/seed" + std::to_string(i) + ".cbor", std::ios::binary)
        .write(reinterpret_cast<const char*>(cbor.data()), std::ssize(cbor));
    ++i;
  }
}

void load_one(
    Fixture& f,
    const uint8_t* data,
    size_t size,
    bool cbor,
    bool with_opt,
    const LoadOptions& options) {
  optim::Optimizer* opt = with_opt ? &f.opt : nullptr;
  const std::string before = fingerprint(f.model, f.opt);
  try {
    detail::load_from_bytes({data, size}, cbor, "fuzz", f.model, opt, options);
  } catch (const voxgrad::Error&) {
    if (fingerprint(f.model, f.opt) != before)
      __builtin_trap();  // a failed load changed something
    return;
  }
  // Loaded: the state must survive a save/load round trip bit-identically.
  json doc = detail::checkpoint_document(f.model, &f.opt, {});
  doc["checksum"] = detail::checkpoint_checksum(doc);
  const std::string text = doc.dump();
  const std::string after = fingerprint(f.model, f.opt);
  detail::load_from_bytes(
      {reinterpret_cast<const uint8_t*>(text.data()), text.size()}, false,
      "roundtrip", f.model, &f.opt, {.allow_nonfinite = true});
  if (fingerprint(f.model, f.opt) != after)
    __builtin_trap();
  f.reset();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dir = std::getenv("VOXGRAD_FUZZ_WRITE_SEEDS")) {
    write_seeds(dir);
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Fixture* f = new Fixture();
  const LoadOptions options{
      .strict = size % 3 != 0, .allow_nonfinite = size % 2 == 0};
  const bool with_opt = size % 5 != 0;
  load_one(*f, data, size, false, with_opt, options);
  load_one(*f, data, size, true, with_opt, options);
  // Past the checksum: re-sign whatever parses as a JSON object.
  json doc = json::parse(data, data + size, nullptr, false);
  if (doc.is_object() && !doc.is_discarded()) {
    try {
      doc["checksum"] = detail::checkpoint_checksum(doc);
      const std::string text = doc.dump();
      load_one(
          *f, reinterpret_cast<const uint8_t*>(text.data()), text.size(), false,
          with_opt, options);
    } catch (const voxgrad::Error&) {
      // checkpoint_checksum refuses what cannot be serialised
    }
  }
  return 0;
}
