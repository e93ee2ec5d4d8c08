#include "voxgrad/core/npy.hpp"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <xtensor/xadapt.hpp>
#include <xtensor/xnpy.hpp>

namespace voxgrad {
namespace {

constexpr size_t kMaxHeader = 1 << 16;

/// Checks the preamble ourselves before xnpy allocates a header buffer from
/// an untrusted length field.
void check_preamble(
    std::istream& in, const std::string& path, uintmax_t file_size) {
  unsigned char pre[12] = {};
  in.read(reinterpret_cast<char*>(pre), sizeof pre);
  VOXGRAD_CHECK(
      in.gcount() >= 10 && std::memcmp(pre, "\x93NUMPY", 6) == 0, "load_npy: '",
      path, "' is not a .npy file (bad magic)");
  const unsigned major = pre[6];
  VOXGRAD_CHECK(
      major == 1 || major == 2, "load_npy: '", path,
      "' has unsupported .npy version ", major, ".", unsigned{pre[7]});
  const size_t len = major == 1
                         ? size_t{pre[8]} | size_t{pre[9]} << 8
                         : size_t{pre[8]} | size_t{pre[9]} << 8 |
                               size_t{pre[10]} << 16 | size_t{pre[11]} << 24;
  VOXGRAD_CHECK(
      len <= kMaxHeader && len <= file_size, "load_npy: '", path,
      "' declares a ", len, "-byte header (file is ", file_size, " bytes)");
  in.clear();
  in.seekg(0);
}

}  // namespace

Tensor load_npy(const std::string& path) {
  std::error_code ec;
  const uintmax_t file_size = std::filesystem::file_size(path, ec);
  VOXGRAD_CHECK(!ec, "load_npy: cannot open '", path, "' (", ec.message(), ")");
  std::ifstream in(path, std::ios::binary);
  VOXGRAD_CHECK(in.good(), "load_npy: cannot open '", path, "'");
  check_preamble(in, path, file_size);

  std::string descr;
  bool fortran = false;
  std::vector<size_t> ushape;
  try {
    unsigned char major = 0, minor = 0;
    xt::detail::read_magic(in, &major, &minor);
    const std::string header = major == 1 ? xt::detail::read_header_1_0(in)
                                          : xt::detail::read_header_2_0(in);
    xt::detail::parse_header(header, descr, &fortran, ushape);
  } catch (const std::exception& e) {
    VOXGRAD_FAIL(
        "load_npy: '", path, "' has a malformed header (", e.what(), ")");
  }
  Dtype dtype;
  if (descr == "<f4") {
    dtype = kFloat32;
  } else if (descr == "<f8") {
    dtype = kFloat64;
  } else {
    VOXGRAD_FAIL(
        "load_npy: '", path, "' holds dtype '", descr,
        "' (expected little-endian float32 '<f4' or float64 '<f8')");
  }
  Shape shape;
  uintmax_t count = 1;
  for (size_t s : ushape) {
    shape.push_back(static_cast<int64_t>(s));
    count *= s;
    VOXGRAD_CHECK(
        count <= file_size, "load_npy: '", path, "' declares shape ",
        shape_str(shape), ", larger than the file");
  }
  const uintmax_t nbytes = count * itemsize(dtype);
  const auto data_start = static_cast<uintmax_t>(in.tellg());
  VOXGRAD_CHECK(
      data_start + nbytes == file_size, "load_npy: '", path, "' has ",
      file_size - data_start, " data bytes but its header (", dtype_name(dtype),
      " ", shape_str(shape), ") needs ", nbytes);

  // Fortran order is C order of the reversed shape, transposed back.
  Shape stored = shape;
  if (fortran)
    std::reverse(stored.begin(), stored.end());
  Tensor t = empty(stored, dtype);
  in.read(
      static_cast<char*>(t.mutable_raw_data()),
      static_cast<std::streamsize>(nbytes));
  VOXGRAD_CHECK(
      static_cast<uintmax_t>(in.gcount()) == nbytes, "load_npy: '", path,
      "' ended early");
  if (fortran && shape.size() > 1) {
    std::vector<int64_t> perm(shape.size());
    for (size_t i = 0; i < perm.size(); ++i)
      perm[i] = static_cast<int64_t>(perm.size() - 1 - i);
    t = t.permute(perm).contiguous();
  }
  return t;
}

void save_npy(const std::string& path, const Tensor& t) {
  VOXGRAD_CHECK(t.defined(), "save_npy: the tensor is undefined");
  const Tensor c = t.detach().contiguous();
  std::vector<size_t> shape(c.shape().begin(), c.shape().end());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  VOXGRAD_CHECK(out.good(), "save_npy: cannot open '", path, "' for writing");
  dispatch(c.dtype(), [&]<class T>() {
    const auto view = xt::adapt(
        c.data<T>(), static_cast<size_t>(c.numel()), xt::no_ownership(), shape);
    xt::detail::dump_npy_stream(out, view);
  });
  out.flush();
  VOXGRAD_CHECK(out.good(), "save_npy: writing '", path, "' failed");
}

}  // namespace voxgrad
