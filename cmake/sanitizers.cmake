# VOXGRAD_SANITIZE=address,undefined instruments every target of this build.
if(VOXGRAD_SANITIZE)
  add_compile_options(-fsanitize=${VOXGRAD_SANITIZE} -fno-omit-frame-pointer
    -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${VOXGRAD_SANITIZE})
  # GCC 12's flow analysis under -fsanitize reports maybe-uninitialized
  # inside libstdc++ (std::regex, std::function) that the same code does not
  # report without instrumentation; the Release build keeps the warning.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    add_compile_options(-Wno-maybe-uninitialized)
  endif()
endif()
