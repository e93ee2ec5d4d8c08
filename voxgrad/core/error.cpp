#include "voxgrad/core/error.hpp"

namespace voxgrad::detail {

void throw_error(const std::string& msg) {
  throw Error(msg);
}

void throw_internal(const char* file, int line, const char* cond) {
  throw InternalError(concat(
      "voxgrad internal error: ", cond, " failed at ", file, ":", line,
      " (this is a bug in voxgrad; please report it with the call that "
      "triggered it)"));
}

}  // namespace voxgrad::detail
