# voxel_diffusion's resume checks beyond the exact resume, included by
# examples/common/tests/resume_test.cmake after its runs (-DEXTRA): every
# step is in train_log.csv, the EMA is in the checkpoint beside the network
# it averages, and a conflicting setting or a damaged checkpoint is refused
# with the reason, changing nothing.
file(READ ${WORK}/straight/train_log.csv log)
string(REGEX MATCHALL "\n" lines "${log}")
list(LENGTH lines n)
math(EXPR want "${STEPS} + 1")
if(NOT n EQUAL want)
  message(FATAL_ERROR "expected a header and ${STEPS} steps in train_log.csv:\n${log}")
endif()
file(READ ${WORK}/straight/checkpoint.json ckpt)
if(NOT ckpt MATCHES "\"ema\\.[a-z.]*conv_out\\.weight\"" OR NOT ckpt MATCHES "\"net\\.conv_out\\.weight\"")
  message(FATAL_ERROR "the checkpoint lacks the EMA or the network")
endif()
message(STATUS "${n} log lines; the EMA beside the network")

# Refusals: a setting that differs from the checkpoint's, and a damaged
# file; both leave the folder as it was.
file(SHA256 ${WORK}/straight/checkpoint.json before)
execute_process(COMMAND ${EXE} --resume ${WORK}/straight/checkpoint.json
  --batch 5 --out ${WORK}/straight RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_QUIET)
if(NOT rc EQUAL 1 OR NOT err MATCHES "--batch 5 differs from the checkpoint's 3")
  message(FATAL_ERROR "conflicting flag: rc ${rc}, stderr ${err}")
endif()
write_truncated(${WORK}/truncated.json "${ckpt}")
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
