#pragma once
// Umbrella header: everything a training program needs.
//   #include "voxgrad.hpp"

#include "autograd/grad_mode.hpp"
#include "autograd/gradcheck.hpp"
#include "autograd/node.hpp"
#include "autograd/ops.hpp"
#include "core/dtype.hpp"
#include "core/error.hpp"
#include "core/npy.hpp"
#include "core/parallel.hpp"
#include "core/random.hpp"
#include "core/tensor.hpp"
#include "nn/conv.hpp"
#include "nn/init.hpp"
#include "nn/module.hpp"
