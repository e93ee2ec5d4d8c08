#pragma once
// VOXGRAD_PROFILE=1 for the examples (issue 12): profiles a few training
// steps with voxgrad::profiler and reports them.
//
//   StepProfile profile(out_dir);
//   while (...) {
//     profile.before_step();
//     train_step();
//     profile.after_step();
//   }
//
// The first step is left out (it plans convs and fills the allocator's
// cache); the next VOXGRAD_PROFILE_STEPS steps (default 5) are recorded,
// each as a "train_step" event. Then the op table (like torch.profiler's
// key_averages) and the module table are printed to stdout and the Chrome
// trace of those steps is written to <out_dir>/profile_trace.json
// (chrome://tracing or ui.perfetto.dev). Without VOXGRAD_PROFILE nothing
// is recorded and the calls cost nothing.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "voxgrad/core/profiler.hpp"

namespace voxgrad::examples {

class StepProfile {
 public:
  explicit StepProfile(std::string out_dir);
  /// Reports what was recorded if the run ended inside the window.
  ~StepProfile();
  StepProfile(const StepProfile&) = delete;
  StepProfile& operator=(const StepProfile&) = delete;

  void before_step();
  void after_step();

 private:
  void report();

  std::string out_dir_;
  bool enabled_ = false;
  int64_t steps_ = 5;  // to record
  int64_t seen_ = 0;   // steps finished
  int64_t recorded_ = 0;
  std::optional<profiler::Session> session_;
  std::optional<profiler::Scope> step_;
};

}  // namespace voxgrad::examples
