// README.md's ```cpp blocks other than the usage example (which is
// tests/package/main.cpp), verbatim (ctest docs_snippets_in_sync checks
// that), compiled and run here. The blocks of the data, metrics and
// distributed libraries are in tests/data, tests/metrics and
// tests/distributed, whose binaries link those libraries.
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "test_util.hpp"

namespace voxgrad::test {
namespace {

// "Modules, losses, optimizers, checkpoints": a save and a load with
// metadata, into run/ below the current directory.
nlohmann::json checkpoint_block(nn::Module& model, optim::Optimizer& opt) {
  // the block as README.md shows it (not clang-formatted):
  // clang-format off
  voxgrad::save("run/ckpt.json", model, &opt, {{"step", 1000}});  // ".cbor" for CBOR
  nlohmann::json meta = voxgrad::load("run/ckpt.json", model, &opt);
  // clang-format on
  return meta;
}

}  // namespace

TEST_CASE("readme: the checkpoint snippet saves and loads with metadata") {
  manual_seed(0);
  nn::Linear model(3, 2);
  optim::Adam opt(model->parameters(), optim::AdamOptions(1e-2));
  TempDir dir("readme");
  std::filesystem::create_directories(dir.path / "run");
  CurrentDir cd(dir.path);
  const nlohmann::json meta = checkpoint_block(*model, opt);
  CHECK(meta == nlohmann::json{{"step", 1000}});
  std::ifstream in("run/ckpt.json");
  const nlohmann::json doc = nlohmann::json::parse(in);
  CHECK(doc["format"] == "voxgrad-checkpoint");
  CHECK(doc["params"].contains("weight"));
}

}  // namespace voxgrad::test
