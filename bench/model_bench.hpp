#pragma once
// voxgrad-bench --model: whole training steps of the examples' models
// (bench/model_bench.cpp); voxgrad_bench.cpp hands over when it sees --model.

namespace voxgrad::bench {

/// True when the command line asks for --model.
bool wants_model_bench(int argc, char** argv);

/// Runs the model benchmarks; returns the exit status.
int model_bench_main(int argc, char** argv);

}  // namespace voxgrad::bench
