// adjointness: the lesson behind voxgrad's design, with numbers. Conv3d is
// a linear map A; ConvTranspose3d with the same weight is A^T; each one's
// input gradient is the other's forward. docs/adjointness.md has the maths.
//
//   build/bin/adjointness [--out DIR] [--seed N] [--threads T]
//
// Exits 1 if any identity it demonstrates fails (its smoke test).

#include <cstdio>

#include "cli.hpp"
#include "files.hpp"
#include "lessons.hpp"
#include "voxgrad/core/parallel.hpp"

using namespace voxgrad;
using namespace voxgrad::examples;

int main(int argc, char** argv) {
  return run_main("adjointness", [&] {
    std::string out = "adjointness_out";
    int64_t seed = 0, threads = num_threads();
    ArgParser cli(
        "adjointness",
        "Shows, with numbers, that ConvTranspose3d is the adjoint (transpose)\n"
        "of Conv3d with the same weight, what that means for gradients, why\n"
        "output_padding exists, where checkerboard artefacts come from and\n"
        "how ICNR + PixelShuffle3d starts without them, and that every\n"
        "padding mode keeps the two ops adjoint.");
    cli.add("out", &out, "folder for checkerboard.png and icnr.png (created)");
    cli.add("seed", &seed, "seed of the random tensors", 0, int64_t{1} << 62);
    cli.add("threads", &threads, "worker threads", 1, 1024);
    if (!cli.parse(argc, argv))
      return 0;
    set_num_threads(static_cast<int>(threads));
    make_dirs(out);
    const auto s = static_cast<uint64_t>(seed);
    bool ok = lesson_matrix();
    ok &= lesson_dot_product(s);
    ok &= lesson_gradients(s);
    ok &= lesson_output_padding();
    ok &= lesson_checkerboard(out);
    ok &= lesson_icnr(out, s);
    ok &= lesson_padding_modes(s);
    std::printf(
        "%s\n",
        ok ? "All identities hold."
           : "SOME IDENTITY FAILED (see above): this is a voxgrad bug.");
    return ok ? 0 : 1;
  });
}
