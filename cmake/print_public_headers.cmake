# Prints the public headers (cmake/internal_headers.cmake), one per line, as
# paths relative to the source dir; scripts/docs.sh feeds them to Doxygen.
#   cmake -DROOT=<source dir> -P cmake/print_public_headers.cmake
cmake_minimum_required(VERSION 3.25)
include(${CMAKE_CURRENT_LIST_DIR}/internal_headers.cmake)
voxgrad_public_headers(headers ${ROOT})
list(JOIN headers "\n" text)
execute_process(COMMAND ${CMAKE_COMMAND} -E echo "${text}")
