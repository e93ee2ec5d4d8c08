# Resume is exact: K steps straight vs K/2 steps, "interrupted" (--stop-at),
# then resumed to K on another thread count, and vs a run of K/2 steps
# extended to K by --resume --steps K: byte-identical checkpoints (network,
# EMA weights, Adam moments, lr scheduler, sampler, noise generator, loss
# history), loss logs and final metrics. A conflicting setting or a damaged
# checkpoint is refused with the reason, changing nothing.
#   cmake -DEXE=path/to/voxel_diffusion -DWORK=dir -P resume_test.cmake
file(REMOVE_RECURSE ${WORK})
set(common --res 8 --patch 1 --width 4 --mults 1,2 --heads 2 --timesteps 30
  --batch 3 --train-size 20 --test-size 3 --eval-every 3 --eval-samples 3
  --eval-points 32 --sample-steps 4 --eta 0.5 --warmup 4 --ckpt-every 100
  --log-every 1 --no-pictures)

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

run(straight ${common} --steps 6 --threads 2 --out ${WORK}/straight)
final_metrics(ma "${straight}")
# Interrupted at step 3 of 6, resumed on one thread.
run(first ${common} --steps 6 --threads 2 --stop-at 3 --out ${WORK}/resumed)
run(second --resume ${WORK}/resumed/checkpoint.json --threads 1
  --sample-steps 4 --eta 0.5 --no-pictures --out ${WORK}/resumed)
# A 3-step run extended to 6.
run(short ${common} --steps 3 --threads 2 --out ${WORK}/extended)
run(longer --resume ${WORK}/extended/checkpoint.json --steps 6 --threads 3
  --sample-steps 4 --eta 0.5 --no-pictures --out ${WORK}/extended)
foreach(name resumed extended)
  if(NOT ${name} STREQUAL "resumed")
    set(text "${longer}")
  else()
    set(text "${second}")
  endif()
  if(NOT text MATCHES "resumed from .* at step 3")
    message(FATAL_ERROR "${name}: the resumed run did not start at step 3:\n${text}")
  endif()
  foreach(f train_log.csv checkpoint.json)
    file(READ ${WORK}/straight/${f} a)
    file(READ ${WORK}/${name}/${f} b)
    if(NOT a STREQUAL b)
      message(FATAL_ERROR "${f} differs between the straight and the ${name} run")
    endif()
  endforeach()
  final_metrics(mb "${text}")
  if(NOT ma STREQUAL mb)
    message(FATAL_ERROR "final metrics differ: straight ${ma}, ${name} ${mb}")
  endif()
endforeach()
file(READ ${WORK}/straight/train_log.csv log)
string(REGEX MATCHALL "\n" lines "${log}")
list(LENGTH lines n)
if(NOT n EQUAL 7)
  message(FATAL_ERROR "expected a header and 6 steps in train_log.csv:\n${log}")
endif()
# The EMA is in the checkpoint beside the network it averages.
file(READ ${WORK}/straight/checkpoint.json ckpt)
if(NOT ckpt MATCHES "\"ema\\.[a-z.]*conv_out\\.weight\"" OR NOT ckpt MATCHES "\"net\\.conv_out\\.weight\"")
  message(FATAL_ERROR "the checkpoint lacks the EMA or the network")
endif()
message(STATUS "identical: checkpoints, ${n} log lines, metrics ${ma}")

# Refusals: a setting that differs from the checkpoint's, and a damaged
# file; both leave the folder as it was.
file(SHA256 ${WORK}/straight/checkpoint.json before)
execute_process(COMMAND ${EXE} --resume ${WORK}/straight/checkpoint.json
  --batch 5 --out ${WORK}/straight RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_QUIET)
if(NOT rc EQUAL 1 OR NOT err MATCHES "--batch 5 differs from the checkpoint's 3")
  message(FATAL_ERROR "conflicting flag: rc ${rc}, stderr ${err}")
endif()
string(LENGTH "${ckpt}" len)
math(EXPR half "${len} / 2")
string(SUBSTRING "${ckpt}" 0 ${half} truncated)
file(WRITE ${WORK}/truncated.json "${truncated}")
execute_process(COMMAND ${EXE} --resume ${WORK}/truncated.json
  --out ${WORK}/fresh RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_QUIET)
if(NOT rc EQUAL 1 OR NOT err MATCHES "^voxel_diffusion: error: .*truncated.json"
   OR EXISTS ${WORK}/fresh)
  message(FATAL_ERROR "truncated checkpoint: rc ${rc}, stderr ${err}")
endif()
file(SHA256 ${WORK}/straight/checkpoint.json after)
if(NOT before STREQUAL after)
  message(FATAL_ERROR "a refused resume changed the checkpoint")
endif()
message(STATUS "refused: a conflicting --batch and a truncated checkpoint")
