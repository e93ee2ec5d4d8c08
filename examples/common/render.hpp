#pragma once
// Pictures of voxel volumes a person can judge at a glance: a grey-level
// slice (what the network actually predicts, probabilities included) and a
// shaded surface seen from an angle (what the shape looks like).
//
// Volumes are res^3 floats in [0, 1], z-major: v[(z * res + y) * res + x],
// as voxelize() writes them and as one (1, R, R, R) item of a batch is laid
// out.

#include <cstdint>

#include "image.hpp"
#include "voxgrad/core/tensor.hpp"

namespace voxgrad::examples {

/// Slice z = `z` of the volume, value 0 white and 1 black, each voxel drawn
/// as scale x scale pixels.
Image volume_slice(const float* volume, int64_t res, int64_t z, int scale);

/// Orthographic camera looking at the volume's centre.
struct View {
  double azimuth_deg = 35;
  double elevation_deg = 25;
  /// Output image is size x size pixels.
  int size = 96;
  Rgb color{90, 140, 210};
  Rgb background{245, 245, 245};
};

/// The iso-surface value == threshold of the trilinearly interpolated
/// volume, ray-marched and Lambert-shaded with normals from the field's
/// gradient.
Image shaded_projection(
    const float* volume,
    int64_t res,
    const View& view = {},
    double threshold = 0.5);

/// A batch of volumes (N, 1, R, R, R), float32 in [0, 1], as a picture:
/// rows of `columns` shaded views, each followed by a row of the same
/// volumes' mid-slices.
Image volume_grid(const Tensor& volumes, int columns, const View& view);

}  // namespace voxgrad::examples
