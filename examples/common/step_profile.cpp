#include "step_profile.hpp"

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "voxgrad/core/error.hpp"

namespace voxgrad::examples {

StepProfile::StepProfile(std::string out_dir)
    : out_dir_(std::move(out_dir)), enabled_(profiler::enabled_by_env()) {
  if (const char* v = std::getenv("VOXGRAD_PROFILE_STEPS")) {
    char* end = nullptr;
    const long long n = std::strtoll(v, &end, 10);
    VOXGRAD_CHECK(
        end != v && *end == '\0' && n >= 1 && n <= 1000000,
        "VOXGRAD_PROFILE_STEPS must be a whole number of steps in [1, "
        "1000000] (got \"",
        v, "\")");
    steps_ = n;
  }
}

StepProfile::~StepProfile() {
  if (session_) {
    try {
      report();
    } catch (const std::exception& e) {  // a destructor must not throw
      std::cerr << "VOXGRAD_PROFILE: " << e.what() << std::endl;
    }
  }
}

void StepProfile::before_step() {
  if (!enabled_)
    return;
  if (!session_ && seen_ == 1)  // after the warm-up step
    session_.emplace();
  if (session_)
    step_.emplace("train_step", profiler::Kind::User);
}

void StepProfile::after_step() {
  if (!enabled_)
    return;
  step_.reset();
  ++seen_;
  if (session_ && ++recorded_ == steps_)
    report();
}

void StepProfile::report() {
  step_.reset();
  const std::string trace = out_dir_ + "/profile_trace.json";
  profiler::write_chrome_trace(trace);
  std::cout << "\nVOXGRAD_PROFILE: " << recorded_ << " training step(s) after"
            << " the first, by op:\n"
            << profiler::table(25) << "\nby module:\n"
            << profiler::module_table(25) << "Chrome trace: " << trace
            << std::endl;
  session_.reset();
  enabled_ = false;  // one report per run
}

}  // namespace voxgrad::examples
