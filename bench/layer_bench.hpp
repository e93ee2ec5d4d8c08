#pragma once
// voxgrad-bench --layer: pooling, softmax and cross-entropy timed as a
// training loop calls them (bench/layer_bench.cpp); voxgrad_bench.cpp hands
// over when it sees --layer.

namespace voxgrad::bench {

/// True when the command line asks for --layer.
bool wants_layer_bench(int argc, char** argv);

/// Runs the layer benchmarks; returns the exit status.
int layer_bench_main(int argc, char** argv);

}  // namespace voxgrad::bench
