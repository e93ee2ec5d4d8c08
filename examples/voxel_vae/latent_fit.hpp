#pragma once
// Sampling a trained VAE from a Gaussian fitted to the codes of training
// shapes ("ex-post density estimation", Ghosh et al. 2020, "From
// Variational to Deterministic Autoencoders").
//
// Why: trained for reconstruction (IoU), this VAE's posteriors are narrow
// (std ~0.1 per latent) and their means spread as N(m, C) with C far from
// the prior's I, so z ~ N(0, I) often lands where no training shape was
// encoded and decodes to fragments (the "prior hole" problem). A Gaussian
// with the codes' own mean and full covariance covers the encoded region;
// both kinds of samples are written, so the difference can be seen.

#include <cstdint>

#include "model.hpp"
#include "voxel_dataset.hpp"
#include "voxgrad/core/random.hpp"

namespace voxgrad::examples {

/// Mean and covariance of mu(x) over the first `shapes` training shapes,
/// then `count` draws z = m + L eps (C = L L^T, Cholesky): (count, latent).
Tensor fitted_latent_samples(
    VoxelVAE& model,
    const VoxelDataset& data,
    int64_t shapes,
    int64_t count,
    Generator& gen);

}  // namespace voxgrad::examples
