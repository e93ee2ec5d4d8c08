# Resume is exact: K steps straight vs K/2 steps, "interrupted", then
# resumed to K on another thread count must give byte-identical
# checkpoints (network, EMA weights, Adam moments, lr scheduler, sampler,
# noise generator, loss history), loss logs and final metrics.
#   cmake -DEXE=path/to/voxel_diffusion -DWORK=dir -P resume_test.cmake
file(REMOVE_RECURSE ${WORK})
set(common --res 8 --patch 1 --width 4 --mults 1,2 --heads 2 --timesteps 30
  --steps 6 --batch 3 --train-size 20 --test-size 3 --eval-every 3
  --eval-samples 3 --eval-points 32 --sample-steps 4 --eta 0.5 --warmup 4
  --ckpt-every 100 --log-every 1 --no-pictures)

function(run out_var)
  execute_process(COMMAND ${EXE} ${ARGN} RESULT_VARIABLE rc
    OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "voxel_diffusion ${ARGN} failed (${rc}):\n${out}\n${err}")
  endif()
  set(${out_var} "${out}" PARENT_SCOPE)
endfunction()

# The final metrics (the JSON line's "generation" object).
function(final_metrics out text)
  string(REGEX MATCH "{\"generation\":[^\n]*}" line "${text}")
  string(JSON gen GET "${line}" generation)
  string(JSON steps GET "${line}" steps)
  set(${out} "${gen} steps=${steps}" PARENT_SCOPE)
endfunction()

run(straight ${common} --threads 2 --out ${WORK}/straight)
run(first ${common} --threads 2 --stop-at 3 --out ${WORK}/resumed)
run(second --resume ${WORK}/resumed/checkpoint.json --threads 1
  --sample-steps 4 --eta 0.5 --no-pictures --out ${WORK}/resumed)
if(NOT second MATCHES "resumed from .* at step 3")
  message(FATAL_ERROR "the resumed run did not start at step 3:\n${second}")
endif()

foreach(f train_log.csv checkpoint.json)
  file(READ ${WORK}/straight/${f} a)
  file(READ ${WORK}/resumed/${f} b)
  if(NOT a STREQUAL b)
    message(FATAL_ERROR "${f} differs between the straight and the resumed run")
  endif()
endforeach()
file(READ ${WORK}/straight/train_log.csv log)
string(REGEX MATCHALL "\n" lines "${log}")
list(LENGTH lines n)
if(NOT n EQUAL 7)
  message(FATAL_ERROR "expected a header and 6 steps in train_log.csv:\n${log}")
endif()
final_metrics(ma "${straight}")
final_metrics(mb "${second}")
if(NOT ma STREQUAL mb)
  message(FATAL_ERROR "final metrics differ: straight ${ma}, resumed ${mb}")
endif()
# The EMA is in the checkpoint and differs from the network it averages.
file(READ ${WORK}/straight/checkpoint.json ckpt)
if(NOT ckpt MATCHES "\"ema.conv_out.weight\"" OR NOT ckpt MATCHES "\"net.conv_out.weight\"")
  message(FATAL_ERROR "the checkpoint lacks the EMA or the network")
endif()
message(STATUS "identical: checkpoint, ${n} log lines, metrics ${ma}")
