#pragma once
// Errors. Bad input always becomes a voxgrad::Error whose message names the
// op, the argument, the value and the rule, in the form
// ```text
// <op>: <what> (expected <x>, got <y>); <context>
// ```
// It is about the caller's call, so it names no voxgrad source file.
// Internal invariants use VOXGRAD_ASSERT, which stays on in release builds
// (ggml's habit): a broken invariant is a bug report, never silent garbage,
// and its message gives voxgrad's file and line for that report.

#include <sstream>
#include <stdexcept>
#include <string>

#include "voxgrad/export.hpp"

VOXGRAD_PUBLIC_BEGIN

namespace voxgrad {

/// Thrown for every invalid argument, shape, dtype or file voxgrad is given.
/// ```cpp
/// try {
///   y = conv(x);
/// } catch (const voxgrad::Error& e) {
///   std::cerr << e.what() << "\n";
/// }
/// ```
class Error : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// Thrown when an internal invariant fails (a voxgrad bug, please report it).
class InternalError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

namespace detail {

template <class... Parts>
std::string concat(const Parts&... parts) {
  std::ostringstream os;
  (os << ... << parts);
  return os.str();
}

[[noreturn]] void throw_error(const std::string& msg);
[[noreturn]] void throw_internal(const char* file, int line, const char* cond);

}  // namespace detail
}  // namespace voxgrad

/// VOXGRAD_CHECK(cond, parts...): throws voxgrad::Error(concat(parts...)).
#define VOXGRAD_CHECK(cond, ...)                                              \
  do {                                                                        \
    if (!(cond)) [[unlikely]]                                                 \
      ::voxgrad::detail::throw_error(::voxgrad::detail::concat(__VA_ARGS__)); \
  } while (0)

/// VOXGRAD_FAIL(parts...): throws voxgrad::Error unconditionally.
#define VOXGRAD_FAIL(...) \
  ::voxgrad::detail::throw_error(::voxgrad::detail::concat(__VA_ARGS__))

/// VOXGRAD_ASSERT(cond): internal invariant, checked in every build type.
#define VOXGRAD_ASSERT(cond)                                        \
  do {                                                              \
    if (!(cond)) [[unlikely]]                                       \
      ::voxgrad::detail::throw_internal(__FILE__, __LINE__, #cond); \
  } while (0)

VOXGRAD_PUBLIC_END
