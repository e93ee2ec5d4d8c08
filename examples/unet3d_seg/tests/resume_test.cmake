# Resume is exact: 6 steps straight vs 3 steps, "interrupted", then resumed
# to 6 on another thread count must write byte-identical checkpoints (model,
# Adam moments, scene order, every step's loss) and the same final metrics.
# Bad command lines and checkpoints fail with a message, never a crash.
#   cmake -DEXE=path/to/unet3d_seg -DWORK=dir -P resume_test.cmake
file(REMOVE_RECURSE ${WORK})
set(common --steps 6 --batch 2 --res 8 --width 4 --levels 1 --train-size 16
  --test-size 2 --log-every 1)

function(run out_var)
  execute_process(COMMAND ${EXE} ${ARGN} RESULT_VARIABLE rc
    OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "unet3d_seg ${ARGN} failed (${rc}):\n${out}\n${err}")
  endif()
  set(${out_var} "${out}" PARENT_SCOPE)
endfunction()

function(expect_error regex)
  execute_process(COMMAND ${EXE} ${ARGN} RESULT_VARIABLE rc
    OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 1 OR NOT err MATCHES "^unet3d_seg: error: ${regex}")
    message(FATAL_ERROR "'${ARGN}': expected exit 1 and '${regex}', got ${rc}:\n${out}${err}")
  endif()
  message(STATUS "${ARGN} -> ${err}")
endfunction()

# The final JSON line without its wall-clock "seconds".
function(final_metrics out text)
  string(REGEX MATCH "{\"mean_iou\":[^\n]*}" line "${text}")
  string(JSON iou GET "${line}" mean_iou)
  string(JSON loss GET "${line}" loss_last)
  string(JSON steps GET "${line}" steps)
  set(${out} "mean_iou=${iou} loss_last=${loss} steps=${steps}" PARENT_SCOPE)
endfunction()

run(straight ${common} --threads 2 --out ${WORK}/straight)
run(first ${common} --threads 2 --stop-at 3 --out ${WORK}/resumed)
run(second --resume ${WORK}/resumed/checkpoint.json --threads 1
  --out ${WORK}/resumed)
if(NOT second MATCHES "resumed from .* at step 3")
  message(FATAL_ERROR "the resumed run did not start at step 3:\n${second}")
endif()
file(READ ${WORK}/straight/checkpoint.json a)
file(READ ${WORK}/resumed/checkpoint.json b)
if(NOT a STREQUAL b)
  message(FATAL_ERROR "the checkpoints of the straight and resumed runs differ")
endif()
final_metrics(ma "${straight}")
final_metrics(mb "${second}")
if(NOT ma STREQUAL mb)
  message(FATAL_ERROR "final metrics differ: straight ${ma}, resumed ${mb}")
endif()
message(STATUS "identical checkpoints and metrics: ${ma}")

expect_error("--res 12 must be a multiple of 2\\^levels = 8" --res 12 --levels 3
  --out ${WORK}/bad)
expect_error("--steps: expected an integer .*got '0'" --steps 0)
expect_error("--batch: expected an integer .*got 'x'" --batch x)
expect_error("--width 1 differs from the checkpoint.s 4" --width 1 --resume
  ${WORK}/resumed/checkpoint.json --out ${WORK}/bad)
expect_error("--stop-at 9 must lie in \\[0, 6\\]" ${common} --stop-at 9
  --out ${WORK}/bad)
file(WRITE ${WORK}/damaged.json "{\"format\": \"voxgrad-checkpoint\"")
expect_error(".*damaged.json" --resume ${WORK}/damaged.json --out ${WORK}/bad)
