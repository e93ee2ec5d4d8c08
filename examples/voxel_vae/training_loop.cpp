#include "training_loop.hpp"

#include <cstdio>
#include <ostream>

#include "progress.hpp"
#include "report.hpp"
#include "step_profile.hpp"

namespace voxgrad::examples {

std::string checkpoint_path(const std::string& dir) {
  return dir + "/checkpoint.json";
}

IouReport train_loop(VaeTrainer& trainer, const LoopOptions& options) {
  const VaeConfig& c = trainer.config();
  const int64_t stop = options.stop_at > 0 ? options.stop_at : c.steps;
  const bool main = trainer.data_parallel().is_main();
  std::ostream* log = main ? options.log : nullptr;
  const double voxels_per_step =
      static_cast<double>(c.batch) *
      static_cast<double>(
          c.arch.resolution * c.arch.resolution * c.arch.resolution);
  const Eta eta(trainer.step(), stop);
  Stopwatch total, interval;
  int64_t interval_steps = 0;
  IouReport last;
  StepProfile profile(options.out_dir);  // VOXGRAD_PROFILE=1
  while (trainer.step() < stop) {
    profile.before_step();
    const StepStats s = trainer.train_step();
    profile.after_step();
    ++interval_steps;
    if (log && (s.step % c.log_every == 0 || s.step == stop)) {
      const double dt = interval.seconds();
      char buf[256];
      std::snprintf(
          buf, sizeof buf,
          "step %6lld/%lld  loss %9.3f  rec %9.3f  kl %7.3f  lr %.2e  "
          "%s vox/s  %.1f shapes/s  ETA %s",
          static_cast<long long>(s.step), static_cast<long long>(c.steps),
          s.loss, s.rec, s.kl, s.lr,
          human_count(
              voxels_per_step * static_cast<double>(interval_steps) / dt)
              .c_str(),
          static_cast<double>(c.batch) * static_cast<double>(interval_steps) /
              dt,
          eta.at(s.step, total.seconds()).c_str());
      *log << buf << std::endl;
      interval.reset();
      interval_steps = 0;
    }
    // Evaluated before the checkpoint is written, so the saved history of
    // an interrupted run equals the uninterrupted run's up to that step.
    if (s.step % c.eval_every == 0 || s.step == stop) {
      last = held_out_iou(trainer.model(), trainer.data(), c.eval_points);
      trainer.record_iou(s.step, last.mean);
      if (log)
        *log << "eval step " << s.step << ": held-out IoU " << last.mean << " ("
             << per_kind_text(last) << "); " << text(last.surface) << std::endl;
      interval.reset();  // keep evaluation out of the training rate
      interval_steps = 0;
    }
    if (main && (s.step % c.ckpt_every == 0 || s.step == stop)) {
      trainer.save_checkpoint(checkpoint_path(options.out_dir));
      write_loss_log(trainer.history(), options.out_dir + "/train_log.csv");
      interval.reset();
      interval_steps = 0;
    }
  }
  if (last.shapes == 0)  // resumed at the stop step: nothing to train
    last = held_out_iou(trainer.model(), trainer.data(), c.eval_points);
  return last;
}

}  // namespace voxgrad::examples
