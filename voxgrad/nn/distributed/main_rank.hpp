#pragma once
// Rank 0 speaks for the job: it logs and writes checkpoints; the other
// ranks hold identical replicas (DistributedDataParallel keeps them so) and
// stay quiet.

#include <iosfwd>
#include <string>

#include <nlohmann/json_fwd.hpp>  // metadata; see voxgrad/nn/checkpoint.hpp

#include "voxgrad/export.hpp"
#include "voxgrad/nn/distributed/communicator.hpp"
#include "voxgrad/nn/module.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad::optim {
class Optimizer;
}

namespace voxgrad::distributed {

/// std::cout on rank 0; on the other ranks a stream that discards
/// everything:
/// ```cpp
/// distributed::main_out(comm) << "step " << step << std::endl;
/// ```
std::ostream& main_out(const Communicator& comm);

/// Rank 0 writes the checkpoint with voxgrad::save (atomic); the others
/// wait for it. If the save fails, every rank throws the same
/// voxgrad::Error (rank 0's message), so no rank is left waiting in a later
/// collective for a rank that stopped on a full disk. Collective. To
/// resume, every rank loads the same file with voxgrad::load (a shared
/// file system, or a copy on each host).
/// ```cpp
/// distributed::save_on_main(comm, "run/ckpt.json", model, &opt, meta);
/// ```
void save_on_main(
    const Communicator& comm,
    const std::string& path,
    const nn::Module& model,
    const optim::Optimizer* opt,
    const nlohmann::json& metadata);
/// save_on_main() with empty metadata ({}).
void save_on_main(
    const Communicator& comm,
    const std::string& path,
    const nn::Module& model,
    const optim::Optimizer* opt = nullptr);

}  // namespace voxgrad::distributed

VOXGRAD_PUBLIC_END
