#include "files.hpp"

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <system_error>

#include <nlohmann/json.hpp>

#include "voxgrad/core/error.hpp"
#include "voxgrad/core/quote.hpp"

namespace voxgrad::examples {

void make_dirs(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  VOXGRAD_CHECK(
      !ec && std::filesystem::is_directory(dir), "cannot create folder ",
      quote(dir), ": ", ec ? ec.message() : "a file of that name exists");
  // A file the outputs' atomic writes would create there, never committed:
  // its destructor removes it again.
  AtomicFile probe(dir + "/.write-test", "output folder");
}

void write_metrics(
    const std::string& out, const nlohmann::ordered_json& result) {
  write_file_atomic(out + "/metrics.json", result.dump() + "\n");
  std::cout << "outputs in " << out << "/" << std::endl
            << result.dump() << std::endl;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  VOXGRAD_CHECK(in.good(), "cannot open ", quote(path), " for reading");
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

}  // namespace voxgrad::examples
