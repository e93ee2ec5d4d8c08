# The headers under voxgrad/ that are NOT part of the public API: they are not
# installed, do not use VOXGRAD_PUBLIC_BEGIN/END, and a shared libvoxgrad does
# not export their symbols (tests, tools and bench reach them through the
# static voxgrad_internal). One list, used by install() in CMakeLists.txt and
# by tests/public_headers.cmake. A regex over the path below voxgrad/.
set(VOXGRAD_INTERNAL_HEADERS_REGEX
  "/kernels/|/conv_ops\\.hpp$|/pool_ops\\.hpp$|/checkpoint_(codec|file|parse|problems)\\.hpp$")
