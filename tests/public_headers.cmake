# ctest driver: every public header (what `cmake --install` copies: the .hpp
# files under voxgrad/ minus cmake/internal_headers.cmake's list) declares its
# API between VOXGRAD_PUBLIC_BEGIN and VOXGRAD_PUBLIC_END (voxgrad/export.hpp)
# and includes only public headers. Otherwise a shared libvoxgrad would not
# export what the header declares (a consumer then fails to link), or an
# installed header would include a file that is not installed.
#   cmake -DROOT=<source dir> -P public_headers.cmake
# Prints every offender, one per line, so a merge that adds headers gets the
# whole list to wrap at once.
cmake_minimum_required(VERSION 3.25)
include(${CMAKE_CURRENT_LIST_DIR}/../cmake/internal_headers.cmake)
voxgrad_public_headers(public ${ROOT})
file(GLOB_RECURSE defs RELATIVE ${ROOT} ${ROOT}/voxgrad/*.def)  # installed too
set(installed ${defs} ${public})
set(unwrapped)
set(bad_includes)
foreach(h IN LISTS public)
  file(READ ${ROOT}/${h} text)
  # export.hpp defines the pair; a header with no namespace declares nothing
  # (voxgrad.hpp only includes others).
  if(NOT h STREQUAL "voxgrad/export.hpp" AND text MATCHES "\nnamespace ")
    string(FIND "${text}" "VOXGRAD_PUBLIC_BEGIN" begin)
    string(FIND "${text}" "VOXGRAD_PUBLIC_END" end)
    string(FIND "${text}" "\nnamespace " first_namespace)
    if(begin EQUAL -1 OR end EQUAL -1 OR begin GREATER first_namespace)
      list(APPEND unwrapped ${h})
    endif()
  endif()
  string(REGEX MATCHALL "#include [\"<]voxgrad/[^\">]+[\">]" incs "${text}")
  list(REMOVE_DUPLICATES incs)
  foreach(inc IN LISTS incs)
    string(REGEX REPLACE "#include [\"<](.*)[\">]" "\\1" inc "${inc}")
    if(NOT inc IN_LIST installed)
      list(APPEND bad_includes "${h} includes ${inc}")
    endif()
  endforeach()
endforeach()
list(LENGTH public n)
set(report "")
if(unwrapped)
  list(LENGTH unwrapped k)
  list(JOIN unwrapped "\n  " lines)
  string(APPEND report "${k} public headers do not wrap their declarations in "
    "VOXGRAD_PUBLIC_BEGIN/END (#include \"voxgrad/export.hpp\" and put "
    "VOXGRAD_PUBLIC_BEGIN after the #includes, VOXGRAD_PUBLIC_END at the end; "
    "or, if the header is internal, add it to cmake/internal_headers.cmake):\n  ${lines}\n")
endif()
if(bad_includes)
  list(JOIN bad_includes "\n  " lines)
  string(APPEND report "public headers include headers that are not installed:\n  ${lines}\n")
endif()
if(report)
  message(FATAL_ERROR "${report}")
endif()
message(STATUS "${n} public headers, all wrapped in VOXGRAD_PUBLIC_BEGIN/END")
