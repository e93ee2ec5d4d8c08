#pragma once
// What a shared libvoxgrad exports (BUILD_SHARED_LIBS=ON).
//
// The library is compiled with -fvisibility=hidden and
// -fvisibility-inlines-hidden, so a symbol leaves the .so only when it is
// declared between VOXGRAD_PUBLIC_BEGIN and VOXGRAD_PUBLIC_END. Every public
// header wraps its declarations (after its #includes) in the pair; the
// internal headers (voxgrad/core/kernels/, voxgrad/autograd/conv_ops.hpp, the
// checkpoint codec) do not, are not installed, and their symbols stay inside
// the library. A single declaration elsewhere can be exported with
// VOXGRAD_API. Static builds are unaffected (visibility only matters to a
// shared object). tests/CMakeLists.txt checks that every installed header
// uses the pair.

#if defined(__GNUC__) || defined(__clang__)
#define VOXGRAD_PUBLIC_BEGIN _Pragma("GCC visibility push(default)")
#define VOXGRAD_PUBLIC_END _Pragma("GCC visibility pop")
#define VOXGRAD_API __attribute__((visibility("default")))
#else
#define VOXGRAD_PUBLIC_BEGIN
#define VOXGRAD_PUBLIC_END
#define VOXGRAD_API
#endif
