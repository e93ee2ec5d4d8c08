# Settings voxel_diffusion must refuse: exit status 1 and a message naming
# the setting, the value and the rule (never a crash, never a started run).
#   cmake -DEXE=path/to/voxel_diffusion -P bad_settings_test.cmake
# Settings every case can add to (a flag may be given once).
set(base --steps 2 --batch 2 --train-size 8 --test-size 2 --eval-samples 2
  --eval-points 32 --no-pictures)
set(PROGRAM voxel_diffusion)
include(${CMAKE_CURRENT_LIST_DIR}/../../common/tests/program_checks.cmake)
expect_error("--mults: expected 1 to 6 .*got '1,x' \\('x' is not an integer\\)" --mults 1,x)
expect_error("--mults: .*got '1,,2'" --mults 1,,2)
expect_error("--mults: .*got '1,2,' " --mults 1,2,)
expect_error("--mults: .*got '0,1' \\(0 is out of range\\)" --mults 0,1)
expect_error("--mults: .*got '1,2,2,2,2,2,2' \\(7 levels\\)" --mults 1,2,2,2,2,2,2)
expect_error("--mults: .*got '1,99'" --mults 1,99)
expect_error("--patch: expected an integer in \\[1, 4\\], got '5'" --patch 5)
expect_error("--res: expected an integer in \\[4, 128\\], got '3'" --res 3)
expect_error("UNet3d: patch \\(3\\) must be in \\[1, 4\\] and divide the resolution \\(32\\)"
  ${base} --patch 3)
expect_error("UNet3d: resolution / patch \\(6\\) must be divisible by 2\\^\\(levels - 1\\) = 4 for 3 levels"
  ${base} --res 12)
expect_error("UNet3d: width must be even and in \\[2, 1024\\] \\(got 5\\)" ${base} --width 5)
expect_error("AttentionBlock: channels \\(64\\) must be a multiple of heads \\(3\\)"
  ${base} --heads 3)
expect_error("--sample-steps 1001 must be <= --timesteps \\(1000\\)" ${base} --sample-steps 1001)
expect_error("--eta: expected a number in \\[0, 1\\], got '1.5'" --eta 1.5)
expect_error("--eta: .*got 'nan'" --eta nan)
expect_error("--sampler: .*'euler'" --sampler euler)
expect_error("--schedule: .*'quadratic'" --schedule quadratic)
expect_error("--downsample: .*'stride'" --downsample stride)
expect_error("--upsample: .*'bilinear'" --upsample bilinear)
expect_error("--conditional: expected an integer in \\[0, 1\\], got '2'" --conditional 2)
expect_error("--timesteps: expected an integer in \\[2, 100000\\], got '1'" --timesteps 1)
expect_error("NoiseSchedule: the linear schedule needs num_train_timesteps >= 21 .*got 20"
  ${base} --timesteps 20 --sample-steps 5)
expect_error("--ema-decay: expected a number in \\[0, 1\\], got '1.01'" --ema-decay 1.01)
expect_error("--lr: .*got '-1'" --lr -1)
expect_error("--stop-at 3 must lie in \\[0, 2\\]" ${base} --stop-at 3)
