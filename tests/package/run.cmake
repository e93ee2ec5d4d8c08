# ctest driver: install a build of voxgrad into a temporary prefix, build the
# consumer project (tests/package, a fresh project that only knows
# find_package(voxgrad) and <voxgrad/...>) against it, and run it.
#   cmake -DBUILD_DIR=... -DSOURCE_DIR=... -DWORK_DIR=... -P run.cmake
# BUILD_DIR may be a static (the default) or a shared (BUILD_SHARED_LIBS=ON,
# scripts/test_shared_package.sh) build; for a shared one it also checks what
# libvoxgrad.so exports and that the consumer loads it.
file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)

execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix}
                RESULT_VARIABLE rc OUTPUT_QUIET)
if(rc)
  message(FATAL_ERROR "install failed (${rc})")
endif()

file(GLOB shared_lib ${prefix}/lib*/libvoxgrad.so)
if(shared_lib)
  # Only the public API leaves the shared library: the kernels stay hidden.
  execute_process(COMMAND nm -DC --defined-only ${shared_lib}
    OUTPUT_VARIABLE symbols RESULT_VARIABLE rc)
  if(rc OR NOT symbols MATCHES "voxgrad::Tensor::reshape")
    message(FATAL_ERROR "libvoxgrad.so does not export voxgrad::Tensor (nm: ${rc})")
  endif()
  if(symbols MATCHES "voxgrad::kernels::")
    message(FATAL_ERROR "libvoxgrad.so exports internal voxgrad::kernels symbols")
  endif()
  string(REGEX MATCHALL "
[0-9a-f]+ [TW] " exported "${symbols}")
  list(LENGTH exported n)
  message(STATUS "shared: ${shared_lib}, ${n} exported functions, no kernels")
endif()

execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/build
                -DCMAKE_PREFIX_PATH=${prefix} -DCMAKE_BUILD_TYPE=Release
                -DCMAKE_CXX_COMPILER=${CXX}
                RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "configuring the consumer failed (${rc})")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK_DIR}/build RESULT_VARIABLE rc)
if(rc)
  message(FATAL_ERROR "building the consumer failed (${rc})")
endif()
if(shared_lib)
  file(GET_RUNTIME_DEPENDENCIES EXECUTABLES ${WORK_DIR}/build/consumer
    RESOLVED_DEPENDENCIES_VAR deps DIRECTORIES ${prefix}/lib)
  if(NOT deps MATCHES "libvoxgrad\\.so")
    message(FATAL_ERROR "the consumer does not load libvoxgrad.so: ${deps}")
  endif()
endif()
execute_process(COMMAND ${WORK_DIR}/build/consumer RESULT_VARIABLE rc OUTPUT_VARIABLE out)
message(STATUS "consumer printed: ${out}")
if(rc OR NOT out MATCHES "^loss [0-9.e+-]+, dL/dw \\[8, 1, 3, 3, 3\\]\n")
  message(FATAL_ERROR "the consumer failed (${rc}): ${out}")
endif()
