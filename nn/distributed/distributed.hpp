#pragma once
// voxgrad::distributed: data-parallel training over MPI (link
// voxgrad::distributed; built when CMake finds MPI, VOXGRAD_WITH_MPI).
//   #include "nn/distributed/distributed.hpp"

#include "nn/distributed/communicator.hpp"
#include "nn/distributed/data_parallel.hpp"
#include "nn/distributed/main_rank.hpp"
#include "nn/distributed/sampler.hpp"
#include "nn/distributed/sync_batch_norm.hpp"
