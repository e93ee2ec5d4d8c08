#pragma once
// voxgrad::distributed: data-parallel training over MPI (link
// voxgrad::distributed; built when CMake finds MPI, VOXGRAD_WITH_MPI).
// ```cpp
// #include <voxgrad/nn/distributed/distributed.hpp>
// ```

#include "voxgrad/export.hpp"
#include "voxgrad/nn/distributed/communicator.hpp"
#include "voxgrad/nn/distributed/data_parallel.hpp"
#include "voxgrad/nn/distributed/main_rank.hpp"
#include "voxgrad/nn/distributed/sampler.hpp"
#include "voxgrad/nn/distributed/sync_batch_norm.hpp"

VOXGRAD_PUBLIC_BEGIN

VOXGRAD_PUBLIC_END
