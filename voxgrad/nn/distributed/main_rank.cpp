#include "voxgrad/nn/distributed/main_rank.hpp"

#include <iostream>

#include <nlohmann/json.hpp>

#include "voxgrad/nn/checkpoint.hpp"

namespace voxgrad::distributed {

std::ostream& main_out(const Communicator& comm) {
  // A stream without a buffer: every write fails silently, costs nothing.
  static std::ostream discard(nullptr);
  return comm.is_main() ? std::cout : discard;
}

void save_on_main(
    const Communicator& comm,
    const std::string& path,
    const nn::Module& model,
    const optim::Optimizer* opt,
    const nlohmann::json& metadata) {
  std::string error;
  if (comm.is_main()) {
    try {
      save(path, model, opt, metadata);
    } catch (const std::exception& e) {
      error = e.what();
      if (error.empty())
        error = "unknown error";
    }
  }
  // One broadcast both waits for the save and carries its outcome.
  error = comm.broadcast_string(error, 0);
  VOXGRAD_CHECK(
      error.empty(), "save_on_main: rank 0 could not write '", path,
      "': ", error);
}

void save_on_main(
    const Communicator& comm,
    const std::string& path,
    const nn::Module& model,
    const optim::Optimizer* opt) {
  save_on_main(comm, path, model, opt, nlohmann::json::object());
}

}  // namespace voxgrad::distributed
