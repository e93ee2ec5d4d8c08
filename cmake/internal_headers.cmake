# The headers under voxgrad/ that are NOT part of the public API: they are not
# installed, do not use VOXGRAD_PUBLIC_BEGIN/END, and a shared libvoxgrad does
# not export their symbols (tests, tools and bench reach them through the
# static voxgrad_internal). One list, used by install() in CMakeLists.txt, by
# tests/public_headers.cmake and by scripts/docs.sh (the API reference covers
# exactly the public headers). A regex over the path below voxgrad/.
set(VOXGRAD_INTERNAL_HEADERS_REGEX
  "/kernels/|/allocator_testing\\.hpp$|/conv_ops\\.hpp$|/pool_ops\\.hpp$|/checkpoint_(codec|file|parse|problems)\\.hpp$")

# The public headers: voxgrad/**/*.hpp below `root` minus the internal ones,
# as paths relative to `root` ("voxgrad/nn/conv.hpp"), sorted.
function(voxgrad_public_headers out_var root)
  file(GLOB_RECURSE headers RELATIVE ${root} ${root}/voxgrad/*.hpp)
  list(FILTER headers EXCLUDE REGEX "${VOXGRAD_INTERNAL_HEADERS_REGEX}")
  list(SORT headers)
  set(${out_var} ${headers} PARENT_SCOPE)
endfunction()
