# Resume is exact: K steps straight vs K/2 steps, "interrupted", then
# resumed to K (on another thread count) must give byte-identical loss logs
# (every loss term of every step, 17 digits) and the same final metrics.
#   cmake -DEXE=path/to/voxel_vae -DWORK=dir -P resume_test.cmake
file(REMOVE_RECURSE ${WORK})
set(common --steps 8 --batch 3 --train-size 50 --test-size 6 --width 4
  --latent 8 --eval-every 4 --log-every 1 --ckpt-every 100 --no-pictures)

function(run out_var)
  execute_process(COMMAND ${EXE} ${ARGN} RESULT_VARIABLE rc
    OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "voxel_vae ${ARGN} failed (${rc}):\n${out}\n${err}")
  endif()
  set(${out_var} "${out}" PARENT_SCOPE)
endfunction()

# The final JSON line without its wall-clock "seconds".
function(final_metrics out text)
  string(REGEX MATCH "{\"iou\":[^\n]*}" line "${text}")
  string(JSON iou GET "${line}" iou)
  string(JSON loss GET "${line}" loss)
  string(JSON steps GET "${line}" steps)
  set(${out} "iou=${iou} loss=${loss} steps=${steps}" PARENT_SCOPE)
endfunction()

run(straight ${common} --threads 2 --out ${WORK}/straight)
run(first ${common} --threads 2 --stop-at 4 --out ${WORK}/resumed)
run(second --resume ${WORK}/resumed/checkpoint.json --threads 1
  --out ${WORK}/resumed)
if(NOT second MATCHES "resumed from .* at step 4")
  message(FATAL_ERROR "the resumed run did not start at step 4:\n${second}")
endif()

file(READ ${WORK}/straight/train_log.csv a)
file(READ ${WORK}/resumed/train_log.csv b)
if(NOT a STREQUAL b)
  message(FATAL_ERROR "loss logs differ:\n--- straight\n${a}--- resumed\n${b}")
endif()
final_metrics(ma "${straight}")
final_metrics(mb "${second}")
if(NOT ma STREQUAL mb)
  message(FATAL_ERROR "final metrics differ: straight ${ma}, resumed ${mb}")
endif()
string(REGEX MATCHALL "\n" lines "${a}")
list(LENGTH lines n)
message(STATUS "identical: ${n} log lines (header + 8 steps), ${ma}")
