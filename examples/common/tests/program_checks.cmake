# The checks the examples' ctest scripts make of a program, included by them
# (cli_test.cmake, resume_test.cmake, ...). EXE is the program, PROGRAM its
# name as it prefixes its errors (run and expect_error).

# run(<out_var> <args>...): runs the program, which must succeed; its stdout
# goes to out_var.
function(run out_var)
  execute_process(COMMAND ${EXE} ${ARGN} RESULT_VARIABLE rc
    OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${PROGRAM} ${ARGN} failed (${rc}):\n${out}\n${err}")
  endif()
  set(${out_var} "${out}" PARENT_SCOPE)
endfunction()

# expect_error(<regex> <args>...): the program must exit with status 1 and
# "<PROGRAM>: error: <regex>" on stderr (a message, never a crash).
function(expect_error regex)
  execute_process(COMMAND ${EXE} ${ARGN} RESULT_VARIABLE rc
    OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 1 OR NOT err MATCHES "^${PROGRAM}: error: ${regex}")
    message(FATAL_ERROR "'${ARGN}': expected exit 1 and '${regex}', got ${rc}:\n${out}${err}")
  endif()
  string(STRIP "${err}" err)
  message(STATUS "${ARGN} -> ${err}")
endfunction()

# write_truncated(<file> <text>): the first half of `text` (a checkpoint's)
# as <file>, a damaged checkpoint that must be refused.
function(write_truncated file text)
  string(LENGTH "${text}" n)
  math(EXPR half "${n} / 2")
  string(SUBSTRING "${text}" 0 ${half} head)
  file(WRITE ${file} "${head}")
endfunction()
