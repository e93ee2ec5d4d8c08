#pragma once
// NumPy .npy files: a strict reader and a writer of our own (see NOTE
// [ The .npy format as read here ] in voxgrad/core/npy.cpp, and README's
// Dependencies for why not xtensor's xnpy.hpp).
//
//   voxgrad::save_npy("x.npy", x);
//   Tensor y = voxgrad::load_npy("x.npy");   // == x, bit for bit

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "voxgrad/core/tensor.hpp"

namespace voxgrad {

/// What a .npy header declares, after every check.
struct NpyHeader {
  /// Format version: (1, 0), (2, 0) or (3, 0).
  int major = 1, minor = 0;
  Dtype dtype = kFloat32;
  bool fortran_order = false;
  Shape shape;
  /// Bytes before the data (preamble + header), and bytes of data.
  uint64_t data_offset = 0;
  uint64_t data_bytes = 0;
};

/// Reads a .npy file of version 1.0, 2.0 or 3.0 holding little-endian
/// float32 ('<f4') or float64 ('<f8'), C or Fortran order, into a contiguous
/// tensor. Anything else (another dtype or byte order, a header that is not
/// the Python dict NumPy writes, counts that overflow or disagree with the
/// file size, a FIFO or a folder) is a voxgrad::Error naming the file, the
/// header field, the value and the rule. Sizes are checked before anything
/// is allocated.
///   Tensor x = voxgrad::load_npy("x.npy");
Tensor load_npy(const std::string& path);

/// load_npy on a whole file already in memory; `name` stands for the path
/// in messages (used by the fuzzer and the tests).
Tensor load_npy_from_bytes(
    std::span<const uint8_t> bytes, std::string_view name = "<memory>");

/// Parses and checks the preamble and header at the start of `prefix` (which
/// may hold the whole file or only its first bytes) for a file of
/// `file_size` bytes, including that the data fill the rest of the file
/// exactly.
NpyHeader parse_npy_header(
    std::span<const uint8_t> prefix, uint64_t file_size, std::string_view name);

/// Writes `t` as a C-order .npy file ('<f4' or '<f8'), byte for byte what
/// numpy.save writes for the same array, atomically (see NOTE [ Atomic file
/// writes ] in voxgrad/core/atomic_file.hpp).
void save_npy(const std::string& path, const Tensor& t);

/// The bytes save_npy writes.
std::vector<uint8_t> npy_bytes(const Tensor& t);

}  // namespace voxgrad
