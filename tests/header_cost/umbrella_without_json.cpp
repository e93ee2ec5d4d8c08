// ctest umbrella_header_without_json compiles this file alone
// (-fsyntax-only): <voxgrad/voxgrad.hpp> must not pull in nlohmann/json.hpp,
// which was ~100k of the ~139k lines every TU including the umbrella read
// (about 2 s of compile time each). Public headers that only name JSON types
// include <nlohmann/json_fwd.hpp>; the code that builds or reads JSON values
// (the .cpp files, voxgrad/optim/state_dict.hpp) includes the full header.
#include <voxgrad/voxgrad.hpp>

#ifdef INCLUDE_NLOHMANN_JSON_HPP_
#error \
    "<voxgrad/voxgrad.hpp> includes <nlohmann/json.hpp>: name JSON types through <nlohmann/json_fwd.hpp> in public headers, and include the full header in .cpp files"
#endif

int main() {
  return 0;
}
