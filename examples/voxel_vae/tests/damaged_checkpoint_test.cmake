# A resume from a damaged checkpoint stops with a clear error (non-zero
# exit, the path and the problem on stderr, no crash) and leaves every file
# as it was: the same names, the same bytes, no new folders.
#   cmake -DEXE=path/to/voxel_vae -DWORK=dir -P damaged_checkpoint_test.cmake
file(REMOVE_RECURSE ${WORK})
set(run_dir ${WORK}/run)
execute_process(COMMAND ${EXE} --steps 2 --batch 2 --train-size 20
  --test-size 2 --width 4 --latent 8 --no-pictures --out ${run_dir}
  RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "making the checkpoint failed: ${err}")
endif()
file(READ ${run_dir}/checkpoint.json good)

# Every file under WORK with its hash: the state that must not change.
function(snapshot out)
  file(GLOB_RECURSE files LIST_DIRECTORIES true ${WORK}/*)
  list(SORT files)
  set(s "")
  foreach(f IN LISTS files)
    if(IS_DIRECTORY ${f})
      string(APPEND s "${f}/\n")
    else()
      file(SHA256 ${f} h)
      string(APPEND s "${f} ${h}\n")
    endif()
  endforeach()
  set(${out} "${s}" PARENT_SCOPE)
endfunction()

# expect_failure(<name> <stderr regex> <checkpoint file> [out dir])
function(expect_failure name regex ckpt)
  set(out ${run_dir})
  if(ARGC GREATER 3)
    set(out ${ARGV3})
  endif()
  snapshot(before)
  execute_process(COMMAND ${EXE} --resume ${ckpt} --out ${out}
    RESULT_VARIABLE rc OUTPUT_VARIABLE stdout ERROR_VARIABLE stderr)
  snapshot(after)
  if(NOT rc EQUAL 1)
    message(FATAL_ERROR "${name}: expected exit status 1, got '${rc}'\n${stdout}\n${stderr}")
  endif()
  if(NOT stderr MATCHES "^voxel_vae: error: .*${regex}")
    message(FATAL_ERROR "${name}: stderr does not match '${regex}':\n${stderr}")
  endif()
  if(NOT before STREQUAL after)
    message(FATAL_ERROR "${name}: files changed:\n--- before\n${before}--- after\n${after}")
  endif()
  string(STRIP "${stderr}" stderr)
  message(STATUS "${name}: ${stderr}")
endfunction()

string(LENGTH "${good}" n)
math(EXPR half "${n} / 2")
string(SUBSTRING "${good}" 0 ${half} truncated)
file(WRITE ${WORK}/truncated.json "${truncated}")
expect_failure(truncated "truncated.json" ${WORK}/truncated.json)

# One base64 character of a tensor changed: only the checksum can tell.
string(FIND "${good}" "\"data\":\"" at)
math(EXPR at "${at} + 20")
string(SUBSTRING "${good}" ${at} 1 c)
if(c STREQUAL "A")
  set(c2 "B")
else()
  set(c2 "A")
endif()
math(EXPR after "${at} + 1")
string(SUBSTRING "${good}" 0 ${at} head)
string(SUBSTRING "${good}" ${after} -1 tail)
file(WRITE ${WORK}/flipped.json "${head}${c2}${tail}")
expect_failure(one_byte_changed "flipped.json.*checksum" ${WORK}/flipped.json)

file(WRITE ${WORK}/empty.json "")
expect_failure(empty "empty.json" ${WORK}/empty.json)
file(WRITE ${WORK}/not_json.json "this is not a checkpoint\n")
expect_failure(not_json "not_json.json" ${WORK}/not_json.json)
expect_failure(missing "missing.json" ${WORK}/missing.json)
# The damaged file resumed into a fresh folder: the folder is not created.
expect_failure(fresh_out_dir "truncated.json" ${WORK}/truncated.json ${WORK}/new_out)
if(EXISTS ${WORK}/new_out)
  message(FATAL_ERROR "fresh_out_dir: ${WORK}/new_out was created")
endif()
# Intact, but contradicting a setting given on the command line.
snapshot(before)
execute_process(COMMAND ${EXE} --resume ${run_dir}/checkpoint.json --batch 5
  --out ${run_dir} RESULT_VARIABLE rc ERROR_VARIABLE stderr OUTPUT_QUIET)
snapshot(after)
if(NOT rc EQUAL 1 OR NOT stderr MATCHES "--batch 5 differs from the checkpoint's 2"
   OR NOT before STREQUAL after)
  message(FATAL_ERROR "conflicting flag: rc ${rc}, stderr ${stderr}")
endif()
message(STATUS "conflicting flag: ${stderr}")
