# Resume is exact: STEPS steps straight vs STOP steps, "interrupted"
# (--stop-at), then resumed to STEPS on another thread count must write
# byte-identical FILES and print the same final metrics; with EXTEND, so must
# a run of STOP steps extended to STEPS by --resume --steps STEPS (on a third
# thread count). Every example's <name>_resume_bit_identical test runs it:
#   cmake -DEXE=path/to/program -DPROGRAM=name -DWORK=dir -DSTEPS=6 -DSTOP=3
#     "-DARGS=--batch|2|..."          the settings of every run ('|' or ';'
#                                     separate the items of a list)
#     "-DRESUME_ARGS=--no-pictures"   flags a resumed run needs again (the
#                                     checkpoint keeps only settings)
#     "-DFILES=checkpoint.json|train_log.csv"  outputs compared byte for byte
#     "-DMETRICS=iou|loss|steps"      keys of the final JSON line compared
#                                     (the line starts with the first)
#     [-DEXTEND=ON] [-DEXTRA=more_checks.cmake] -P resume_test.cmake
# EXTRA, the example's own checks, is included at the end: it may use run()
# and expect_error() (program_checks.cmake), WORK's runs and these settings.
include(${CMAKE_CURRENT_LIST_DIR}/program_checks.cmake)
foreach(var ARGS RESUME_ARGS FILES METRICS)
  string(REPLACE "|" ";" ${var} "${${var}}")
endforeach()
file(REMOVE_RECURSE ${WORK})

# The METRICS of the final JSON line (not its wall-clock "seconds").
function(final_metrics out text)
  list(GET METRICS 0 first)
  string(REGEX MATCH "{\"${first}\":[^\n]*}" line "${text}")
  set(values "")
  foreach(key IN LISTS METRICS)
    string(JSON value GET "${line}" ${key})
    string(APPEND values "${key}=${value} ")
  endforeach()
  set(${out} "${values}" PARENT_SCOPE)
endfunction()

run(straight ${ARGS} --steps ${STEPS} --threads 2 --out ${WORK}/straight)
final_metrics(ma "${straight}")
run(first ${ARGS} --steps ${STEPS} --threads 2 --stop-at ${STOP}
  --out ${WORK}/resumed)
run(resumed --resume ${WORK}/resumed/checkpoint.json --threads 1
  ${RESUME_ARGS} --out ${WORK}/resumed)
set(runs resumed)
if(EXTEND)
  run(short ${ARGS} --steps ${STOP} --threads 2 --out ${WORK}/extended)
  run(extended --resume ${WORK}/extended/checkpoint.json --steps ${STEPS}
    --threads 3 ${RESUME_ARGS} --out ${WORK}/extended)
  list(APPEND runs extended)
endif()
foreach(name IN LISTS runs)
  if(NOT ${name} MATCHES "resumed from .* at step ${STOP}")
    message(FATAL_ERROR "${name}: the resumed run did not start at step ${STOP}:\n${${name}}")
  endif()
  foreach(f IN LISTS FILES)
    file(READ ${WORK}/straight/${f} a)
    file(READ ${WORK}/${name}/${f} b)
    if(NOT a STREQUAL b)
      if(f MATCHES "\\.csv$")  # small enough to show
        message(FATAL_ERROR "${f} differs between the straight and the ${name} run:\n--- straight\n${a}--- ${name}\n${b}")
      endif()
      message(FATAL_ERROR "${f} differs between the straight and the ${name} run")
    endif()
  endforeach()
  final_metrics(mb "${${name}}")
  if(NOT ma STREQUAL mb)
    message(FATAL_ERROR "final metrics differ: straight ${ma}, ${name} ${mb}")
  endif()
endforeach()
message(STATUS "identical (${runs}): ${FILES}; final metrics ${ma}")

if(EXTRA)
  include(${EXTRA})
endif()
