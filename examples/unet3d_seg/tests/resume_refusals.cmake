# unet3d_seg's bad command lines and checkpoints fail with a message, never
# a crash. Included by examples/common/tests/resume_test.cmake after its runs
# (-DEXTRA), so ${WORK}/resumed/checkpoint.json is a finished run's.
expect_error("--res 12 must be a multiple of 2\\^levels = 8" --res 12 --levels 3
  --out ${WORK}/bad)
expect_error("--steps: expected an integer .*got '0'" --steps 0)
expect_error("--batch: expected an integer .*got 'x'" --batch x)
expect_error("--width 1 differs from the checkpoint.s 4" --width 1 --resume
  ${WORK}/resumed/checkpoint.json --out ${WORK}/bad)
expect_error("--stop-at 9 must lie in \\[0, 6\\]" ${ARGS} --steps ${STEPS}
  --stop-at 9 --out ${WORK}/bad)
file(WRITE ${WORK}/damaged.json "{\"format\": \"voxgrad-checkpoint\"")
expect_error(".*damaged.json" --resume ${WORK}/damaged.json --out ${WORK}/bad)
