# Bad command lines: exit status 1 and a message naming the flag, the value
# and the rule; never a crash.
#   cmake -DEXE=path/to/program -DPROGRAM=name -P cli_test.cmake
include(${CMAKE_CURRENT_LIST_DIR}/program_checks.cmake)
expect_error("--steps: expected an integer in \\[1, 250000\\], got 'abc'" --steps abc)
expect_error("--steps: expected an integer .*got '250001'" --steps 250001)
expect_error("--steps: expected an integer .*got '-5'" --steps -5)
expect_error("--batch: expected an integer .*got '0'" --batch 0)
expect_error("--threads: expected an integer .*got '2x'" --threads 2x)
expect_error("unknown flag '--stpes'" --stpes 3)
expect_error("--out: missing value" --out)
expect_error("unexpected argument 'extra'" extra)
expect_error("VoxelFolder: 'no/such/folder' is not a folder" --data no/such/folder)
execute_process(COMMAND ${EXE} --help RESULT_VARIABLE rc OUTPUT_VARIABLE out)
if(NOT rc EQUAL 0 OR NOT out MATCHES "usage: ${PROGRAM}")
  message(FATAL_ERROR "--help: ${rc} ${out}")
endif()
