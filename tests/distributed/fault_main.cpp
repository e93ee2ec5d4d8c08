// Fault drill: two or more ranks train a small model with
// DistributedDataParallel; at step 3 rank 1 fails in the way named on the
// command line. The job must end with a non-zero status in bounded time,
// never with the other ranks waiting forever (see NOTE [ Failure: no rank
// waits forever ] in voxgrad/nn/distributed/communicator.hpp).
//
//   mpirun -n 2 voxgrad_distributed_fault <none|exit|abort|kill|throw|hang>

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>

#include <voxgrad/voxgrad.hpp>
#include "voxgrad/core/parallel.hpp"
#include "voxgrad/nn/distributed/distributed.hpp"

using namespace voxgrad;

namespace {

void fail(const std::string& mode) {
  std::cerr << "fault drill: rank 1 fails now (" << mode << ")" << std::endl;
  if (mode == "exit")
    std::_Exit(3);  // dies without MPI_Finalize
  if (mode == "abort")
    std::abort();
  if (mode == "kill")
    std::raise(SIGKILL);  // as the OOM killer would
  if (mode == "throw")
    throw Error("injected failure on rank 1");
  if (mode == "hang")  // alive but never reaching the next collective
    std::this_thread::sleep_for(std::chrono::seconds(300));
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode != "none" && mode != "exit" && mode != "abort" && mode != "kill" &&
      mode != "throw" && mode != "hang") {
    std::cerr << "usage: voxgrad_distributed_fault "
                 "<none|exit|abort|kill|throw|hang>\n";
    return 2;
  }
  return distributed::run(
      "voxgrad_distributed_fault", [&](distributed::Communicator& comm) {
        set_num_threads(1);
        manual_seed(1);
        nn::Sequential model(
            std::make_shared<nn::LinearImpl>(16, 32),
            std::make_shared<nn::TanhImpl>(),
            std::make_shared<nn::LinearImpl>(32, 4));
        distributed::DistributedDataParallel ddp(model, comm);
        optim::SGD opt(model->parameters(), optim::SGDOptions(0.1));
        Generator gen(static_cast<uint64_t>(comm.rank()));
        const int steps = 8;
        for (int step = 0; step < steps; ++step) {
          if (step == 3 && comm.rank() == 1 && mode != "none")
            fail(mode);
          opt.zero_grad();
          const Tensor x = randn({4, 16}, kFloat32, &gen);
          pow(model->forward(x), 2.0).mean().backward();
          ddp.synchronize_gradients();
          opt.step();
        }
        const bool same = ddp.replicas_identical();
        distributed::main_out(comm)
            << "fault drill: no fault, " << steps << " steps, replicas "
            << (same ? "identical" : "DIFFER") << std::endl;
        return same ? 0 : 1;
      });
}
