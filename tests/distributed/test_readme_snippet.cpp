// README.md's voxgrad::distributed block, verbatim (ctest
// docs_snippets_in_sync checks that), compiled here. Not called: its
// distributed::run initialises MPI, which this binary's main already has.
#include <cstdint>
#include <memory>

#include "dist_test_util.hpp"

namespace voxgrad::test {

int readme_distributed_block(
    const std::shared_ptr<nn::Module>& model, int64_t n, uint64_t seed) {
  return distributed::run("train", [&](distributed::Communicator& comm) {
    distributed::DistributedDataParallel ddp(*model, comm);  // rank 0's weights
    distributed::DistributedSampler sampler(n, comm.rank(), comm.size(), seed);
    // per step: loss on this rank's items, loss.backward(),
    //           ddp.synchronize_gradients(), opt.step()
    return 0;
  });
}

}  // namespace voxgrad::test
