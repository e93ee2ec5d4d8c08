#pragma once
// NumPy .npy files: a strict reader and a writer of our own (see NOTE
// [ The .npy format as read here ] in voxgrad/core/npy.cpp, and README's
// Dependencies for why not xtensor's xnpy.hpp).
//
// ```cpp
// voxgrad::save_npy("x.npy", x);
// Tensor y = voxgrad::load_npy("x.npy");  // == x, bit for bit
// ```

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "voxgrad/core/tensor.hpp"
#include "voxgrad/export.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad {

/// A plain element type a .npy header may name: bool, (un)signed integers
/// of 1, 2, 4 or 8 bytes, float32 or float64, little-endian (or '|' for one
/// byte). Readers of other element types than tensors (voxel grids in
/// voxgrad::data) take it from parse_npy_header; load_npy needs `dtype`.
struct NpyElement {
  /// NumPy's kind: 'b' bool, 'u' unsigned, 'i' signed integer, 'f' float.
  char kind = 'f';
  /// Bytes per element.
  uint64_t bytes = 4;
  /// The tensor dtype of the same values, if voxgrad has one.
  std::optional<Dtype> dtype = kFloat32;
  /// As NumPy spells it ('<f4', '|u1'), and a name for messages.
  std::string_view descr = "<f4", name = "float32";
};

/// What a .npy header declares, after every check.
struct NpyHeader {
  /// Format version: (1, 0), (2, 0) or (3, 0).
  int major = 1, minor = 0;
  NpyElement element;
  bool fortran_order = false;
  Shape shape;
  /// Bytes before the data (preamble + header), and bytes of data.
  uint64_t data_offset = 0;
  uint64_t data_bytes = 0;
};

/// Reads a .npy file of version 1.0, 2.0 or 3.0 holding little-endian
/// float32 ('<f4'), float64 ('<f8') or int64 ('<i8', labels and indices, exact
/// over the whole range), C or Fortran order, into a contiguous
/// tensor. Anything else (another dtype or byte order, a header that is not
/// the Python dict NumPy writes, counts that overflow or disagree with the
/// file size, a FIFO or a folder) is a voxgrad::Error naming the file, the
/// header field, the value and the rule. Sizes are checked before anything
/// is allocated.
/// ```cpp
/// Tensor x = voxgrad::load_npy("x.npy");
/// ```
Tensor load_npy(const std::string& path);

/// load_npy on a whole file already in memory; `name` stands for the path
/// in messages (used by the fuzzer and the tests).
Tensor load_npy_from_bytes(
    std::span<const uint8_t> bytes, std::string_view name = "<memory>");

/// Parses and checks the preamble and header at the start of `prefix` (which
/// may hold the whole file or only its first bytes) for a file of
/// `file_size` bytes, including that the data fill the rest of the file
/// exactly. Accepts every NpyElement type (not only tensor dtypes): this is
/// the one .npy header reader of the project, voxel grids included.
NpyHeader parse_npy_header(
    std::span<const uint8_t> prefix, uint64_t file_size, std::string_view name);

/// Writes `t` as a C-order .npy file ('<f4', '<f8' or '<i8'), byte for byte
/// what numpy.save writes for the same array, atomically (see NOTE [ Atomic
/// file writes ] in voxgrad/core/atomic_file.hpp).
void save_npy(const std::string& path, const Tensor& t);

/// The bytes save_npy writes.
std::vector<uint8_t> npy_bytes(const Tensor& t);

}  // namespace voxgrad

VOXGRAD_PUBLIC_END
