// Errors: a user error's message is about the user's call (no voxgrad file
// or line); an internal assertion names voxgrad's file and line for the bug
// report.

#include "test_util.hpp"

namespace voxgrad {

TEST_CASE("user errors carry the message only, internal ones file:line") {
  CHECK(test::error_of([] {
          VOXGRAD_CHECK(1 + 1 == 3, "op: x must be ", 3);
        }) == "op: x must be 3");
  CHECK(test::error_of([] {
          VOXGRAD_FAIL("op: bad ", "input");
        }) == "op: bad input");
  // Errors raised inside the library, from headers and from sources.
  for (const std::string& msg :
       {test::error_of([] { zeros({2}).item(); }),
        test::error_of([] { zeros({2}).reshape({3}); }),
        test::error_of([] { nn::Conv3d(nn::Conv3dOptions(0, 1, 1)); }),
        test::error_of([] { zeros({2}).data<double>(); })}) {
    CAPTURE(msg);
    CHECK_FALSE(msg.empty());
    CHECK(msg.find(".cpp") == std::string::npos);
    CHECK(msg.find(".hpp") == std::string::npos);
    CHECK(msg.back() != ']');
  }
  try {
    VOXGRAD_ASSERT(1 + 1 == 3);
    FAIL("VOXGRAD_ASSERT did not throw");
  } catch (const InternalError& e) {
    const std::string msg = e.what();
    CHECK(msg.find("1 + 1 == 3") != std::string::npos);
    CHECK(msg.find("test_error.cpp:") != std::string::npos);
    CHECK(msg.find("bug in voxgrad") != std::string::npos);
  }
}

}  // namespace voxgrad
