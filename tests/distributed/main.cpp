// The doctest runner of voxgrad::distributed, started by mpirun with any
// number of ranks. Every rank runs every test case in the same order (the
// cases call collectives); rank 0 reports in full, the others only their
// failures.

#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include "dist_test_util.hpp"
#include "voxgrad/core/parallel.hpp"

namespace voxgrad::test {
namespace {
distributed::Communicator* g_comm = nullptr;
}
distributed::Communicator& comm() {
  REQUIRE(g_comm != nullptr);
  return *g_comm;
}
}  // namespace voxgrad::test

int main(int argc, char** argv) {
  return voxgrad::distributed::run(
      "voxgrad_distributed_tests", [&](voxgrad::distributed::Communicator& c) {
        // One kernel thread per rank: the ranks already share the cores.
        voxgrad::set_num_threads(1);
        voxgrad::test::g_comm = &c;
        doctest::Context ctx(argc, argv);
        if (!c.is_main()) {
          ctx.setOption("minimal", true);
          ctx.setOption("no-version", true);
        }
        // A failing CHECK on one rank only must not end the job early: the
        // others would then miss a collective. run() reports a split.
        return ctx.run();
      });
}
