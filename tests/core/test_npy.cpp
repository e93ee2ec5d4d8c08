// .npy round trips and the errors for files that are not what they claim.

#include <filesystem>
#include <fstream>

#include "test_util.hpp"

namespace voxgrad {
namespace {
std::string temp_path(const std::string& name) {
  const auto dir = std::filesystem::temp_directory_path() / "voxgrad_test_npy";
  std::filesystem::create_directories(dir);
  return (dir / name).string();
}
}  // namespace

TEST_CASE("save_npy then load_npy returns the same tensor") {
  Generator g(9);
  for (Dtype dt : {kFloat32, kFloat64}) {
    const Tensor x =
        randn({2, 3, 4}, dt, &g).transpose(0, 2);  // saved in C order
    const std::string p =
        temp_path(std::string("rt_") + dtype_name(dt) + ".npy");
    save_npy(p, x);
    const Tensor y = load_npy(p);
    CHECK(y.dtype() == dt);
    CHECK(test::bit_equal(x, y));
  }
  const std::string e = temp_path("empty.npy");
  save_npy(e, zeros({0, 4, 4}));
  CHECK(load_npy(e).shape() == Shape{0, 4, 4});
}

TEST_CASE("load_npy reads the committed conformance fixtures") {
  const std::string dir = std::string(VOXGRAD_TEST_DATA_DIR) + "/conformance";
  int read = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (entry.path().extension() != ".npy" || read >= 20)
      continue;
    const Tensor t = load_npy(entry.path().string());
    CHECK(t.dtype() == kFloat32);
    ++read;
  }
  CHECK(read == 20);
}

TEST_CASE("load_npy rejects truncated, foreign and garbage files") {
  const std::string good = temp_path("good.npy");
  save_npy(good, ones({8, 8}));
  std::ifstream in(good, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), {});
  auto write = [](const std::string& path, const std::string& data) {
    std::ofstream(path, std::ios::binary) << data;
    return path;
  };
  CHECK_ERROR_CONTAINS(
      load_npy(write(temp_path("cut.npy"), bytes.substr(0, bytes.size() - 3))),
      "load_npy", "data bytes");
  CHECK_ERROR_CONTAINS(
      load_npy(write(temp_path("hdr.npy"), bytes.substr(0, 20))), "load_npy");
  CHECK_ERROR_CONTAINS(
      load_npy(write(temp_path("junk.npy"), "hello world, not numpy")),
      "not a .npy file");
  std::string as_int = bytes;
  as_int.replace(as_int.find("<f4"), 3, "<i4");
  CHECK_ERROR_CONTAINS(
      load_npy(write(temp_path("int.npy"), as_int)), "'<i4'", "float32");
  CHECK_ERROR_CONTAINS(load_npy(temp_path("missing.npy")), "cannot open");
}

}  // namespace voxgrad
