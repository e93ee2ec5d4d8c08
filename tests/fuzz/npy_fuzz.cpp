// libFuzzer target for the .npy reader (voxgrad/core/npy.cpp). Oracles,
// besides the sanitizers:
//   * only voxgrad::Error may escape a load (anything else is a crash);
//   * the file reader (load_npy on a memfd) and the memory reader give the
//     same verdict: the same tensor bit for bit, or the same message (up to
//     the name and the [file:line] suffix);
//   * an accepted file holds exactly the bytes its header declares, and
//     the tensor survives save_npy's encoding and a reload bit for bit.
//
// Built and run by scripts/fuzz.sh npy. With VOXGRAD_FUZZ_WRITE_SEEDS=DIR
// set, it writes a seed corpus into DIR and exits.

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "voxgrad/core/npy.hpp"

namespace {

using namespace voxgrad;

/// The message without its " [file:line]" suffix and with `name` replaced.
std::string words(std::string msg, const std::string& name) {
  const size_t at = msg.rfind(" [");
  if (at != std::string::npos)
    msg.resize(at);
  // Only the first occurrence, the "load_npy: '<name>': " prefix: the input
  // itself may contain the name's text (the fuzzer found "fuzz.npy" in a key).
  const size_t p = msg.find(name);
  if (p != std::string::npos)
    msg.replace(p, name.size(), "NAME");
  return msg;
}

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.dtype() == b.dtype() &&
         std::memcmp(
             a.raw_data(), b.raw_data(),
             static_cast<size_t>(a.numel()) * itemsize(a.dtype())) == 0;
}

void write_seeds(const std::string& dir) {
  std::filesystem::create_directories(dir);
  const std::vector<Tensor> tensors = {
      arange(6).reshape({2, 3}), scalar_tensor(1.5, kFloat64), zeros({0, 3}),
      ones({1, 1, 2, 1, 2}), arange(4, kFloat64).reshape({4})};
  int i = 0;
  for (const Tensor& t : tensors) {
    const std::vector<uint8_t> b = npy_bytes(t);
    std::ofstream(
        dir + "/seed" + std::to_string(i++) + ".npy", std::ios::binary)
        .write(reinterpret_cast<const char*>(b.data()), std::ssize(b));
  }
  // Version 2.0 / 3.0 and Fortran order, written by hand.
  for (int major : {2, 3}) {
    const std::string h =
        "{'fortran_order': True, \"shape\": (2, 2,), 'descr': '<f8'}\n";
    std::string f = std::string("\x93NUMPY", 6) + static_cast<char>(major) +
                    '\0' + static_cast<char>(h.size()) + std::string(3, '\0') +
                    h + std::string(32, '\x3f');
    std::ofstream(
        dir + "/seed_v" + std::to_string(major) + ".npy", std::ios::binary)
        << f;
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dir = std::getenv("VOXGRAD_FUZZ_WRITE_SEEDS")) {
    write_seeds(dir);
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const int fd = ::memfd_create("npy_fuzz", 0);
  if (fd < 0)
    __builtin_trap();
  const std::string path = "/proc/self/fd/" + std::to_string(fd);

  Tensor from_mem, from_file;
  std::string mem_error, file_error;
  try {
    from_mem = load_npy_from_bytes({data, size}, "fuzz.npy");
  } catch (const Error& e) {
    mem_error = words(e.what(), "fuzz.npy");
  }
  if (::ftruncate(fd, 0) != 0 ||
      ::pwrite(fd, data, size, 0) != static_cast<ssize_t>(size))
    __builtin_trap();
  try {
    from_file = load_npy(path);
  } catch (const Error& e) {
    file_error = words(e.what(), path);
  }
  if (mem_error != file_error)
    __builtin_trap();  // the two readers disagree
  if (!mem_error.empty())
    return 0;
  if (!same_bits(from_mem, from_file))
    __builtin_trap();
  const NpyHeader h = parse_npy_header({data, size}, size, "fuzz.npy");
  if (h.data_offset + h.data_bytes != size ||
      h.data_bytes !=
          static_cast<uint64_t>(from_mem.numel()) * itemsize(from_mem.dtype()))
    __builtin_trap();
  if (!same_bits(load_npy_from_bytes(npy_bytes(from_mem)), from_mem))
    __builtin_trap();
  return 0;
}
