#pragma once
// Deprecated: gradient clipping lives in voxgrad/nn/utils/clip_grad.hpp, as
// nn::utils::clip_grad_norm_ (libtorch's place). This header is kept so that
// code including it still compiles; optim::clip_grad_norm_ is an alias. No
// optimizer includes it (optimizers depend on core alone).

#include "voxgrad/nn/utils/clip_grad.hpp"
