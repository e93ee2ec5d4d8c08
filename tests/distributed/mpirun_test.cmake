# Runs one program under mpirun for ctest (cmake -P), with a hard time limit
# so that no test can hang:
#   -DMPIEXEC=<mpirun or empty> -DNP=<ranks> -DEXE=<program> -DARGS=<a|b|c>
#   -DEXPECT_FAIL=<bool> -DMATCH=<regex the output must match>
#   -DWITHIN=<seconds the run may take>
#   -DREASON=<text>: print "SKIPPED: <text>" and stop (MPI not built)
# Prints "SKIPPED: ..." (which the test's SKIP_REGULAR_EXPRESSION turns
# into a skip) when it cannot run at all.

if(DEFINED REASON)
  message("SKIPPED: voxgrad::distributed is not built: ${REASON}")
  return()
endif()
if(NOT MPIEXEC OR NOT EXISTS "${MPIEXEC}")
  message("SKIPPED: no mpirun/mpiexec was found when CMake configured this "
    "build, so the MPI tests cannot run (install openmpi-bin and reconfigure)")
  return()
endif()

string(REPLACE "|" ";" args "${ARGS}")
set(cmd ${MPIEXEC} -n ${NP} ${EXE} ${args})
# coreutils timeout signals mpirun, which takes its ranks down with it;
# execute_process's own TIMEOUT is the fallback.
find_program(TIMEOUT_TOOL timeout)
if(TIMEOUT_TOOL)
  set(cmd ${TIMEOUT_TOOL} -k 10 ${WITHIN} ${cmd})
endif()
math(EXPR hard_limit "${WITHIN} + 20")
string(REPLACE ";" " " shown "${cmd}")
message("running: ${shown}")

string(TIMESTAMP start "%s")
execute_process(COMMAND ${cmd} RESULT_VARIABLE rc OUTPUT_VARIABLE out
  ERROR_VARIABLE out TIMEOUT ${hard_limit})
string(TIMESTAMP end "%s")
math(EXPR elapsed "${end} - ${start}")
message("${out}")
message("exit status ${rc} after ~${elapsed} s")

# 124: timeout had to stop it (137 if it then had to kill it, but a rank
# that kills itself can make mpirun exit 137 too, hence the elapsed time).
if(rc STREQUAL "124" OR rc MATCHES "timeout" OR NOT elapsed LESS WITHIN)
  message(FATAL_ERROR "FAILED: not finished within ${WITHIN} s (a hang?)")
endif()
if(EXPECT_FAIL)
  if(rc EQUAL 0)
    message(FATAL_ERROR "FAILED: expected a non-zero exit status")
  endif()
elseif(NOT rc EQUAL 0)
  message(FATAL_ERROR "FAILED: exit status ${rc}")
endif()
if(MATCH AND NOT out MATCHES "${MATCH}")
  message(FATAL_ERROR "FAILED: the output does not match '${MATCH}'")
endif()
message("PASSED")
