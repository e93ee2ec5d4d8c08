# ctest driver: compiling SOURCE must fail, and the compiler's output must
# hold the text of its "// expect: " line (voxgrad's static_assert message),
# so a misuse of the API gets an error that says what is wrong.
#   cmake -DCXX=... -DINCLUDE=... -DSOURCE=... -P run.cmake
file(STRINGS ${SOURCE} expect REGEX "^// expect: ")
string(REPLACE "// expect: " "" expect "${expect}")
execute_process(
  COMMAND ${CXX} -std=c++20 -fsyntax-only -I${INCLUDE} ${SOURCE}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(rc EQUAL 0)
  message(FATAL_ERROR "${SOURCE} compiled, but must not")
endif()
string(FIND "${out}" "${expect}" at)
if(at EQUAL -1)
  message(FATAL_ERROR "the error does not say \"${expect}\":\n${out}")
endif()
message(STATUS "failed to compile, as it must, saying \"${expect}\"")
