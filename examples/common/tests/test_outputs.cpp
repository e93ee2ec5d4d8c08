// Pictures, meshes, plots and the CLI: a closed mesh for a solid, PNGs
// that exist, SVG with the series, and CLI errors that name the flag.
#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <utility>
#include <vector>

#include "cli.hpp"
#include "files.hpp"
#include "image.hpp"
#include "mesh.hpp"
#include "plot.hpp"
#include "render.hpp"
#include "shapes.hpp"
#include "voxgrad/core/error.hpp"

using namespace voxgrad::examples;

TEST_CASE("surface nets of a solid give a closed, consistently oriented mesh") {
  const int64_t r = 24;
  std::vector<float> v(static_cast<size_t>(r * r * r));
  for (int64_t i : {0, 1, 2, 3, 4, 5}) {
    voxelize(sample_shape(2, Split::Train, i), r, v.data());
    const Mesh m = surface_nets(v.data(), r);
    REQUIRE(!m.quads.empty());
    // Closed and consistently oriented: each directed edge is matched by as
    // many reverse edges (where two voxels touch along an edge only, surface
    // nets shares one edge among four quads, so counts can be 2).
    std::map<std::pair<uint32_t, uint32_t>, int> edges;
    for (const auto& q : m.quads)
      for (int k = 0; k < 4; ++k)
        ++edges[{
            q[static_cast<size_t>(k)], q[static_cast<size_t>((k + 1) % 4)]}];
    for (const auto& [e, c] : edges) {
      CHECK(c <= 2);
      const auto rev = edges.find({e.second, e.first});
      REQUIRE(rev != edges.end());
      CHECK(rev->second == c);
    }
    for (const auto& p : m.vertices)
      for (float c : p)
        CHECK((c > -1.1f && c < 1.1f));
  }
}

TEST_CASE("pictures and plots are written") {
  const auto dir =
      std::filesystem::temp_directory_path() / "voxgrad_common_test";
  make_dirs(dir.string());
  const int64_t r = 16;
  std::vector<float> v(static_cast<size_t>(r * r * r));
  voxelize(sample_shape(1, Split::Test, 0), r, v.data());
  Image a = shaded_projection(v.data(), r, View{.size = 48});
  Image b = volume_slice(v.data(), r, r / 2, 3);
  CHECK(b.width() == 48);
  // The shape covers part of the picture: some pixels differ from the
  // background.
  int hit = 0;
  for (int y = 0; y < a.height(); ++y)
    for (int x = 0; x < a.width(); ++x)
      hit += a.get(x, y).r != 245;
  CHECK(hit > 50);
  Image g = tile_grid({a, b, a}, 2, 4);
  g.draw_text(2, 2, "input", kBlack);
  CHECK(g.width() == 2 * 48 + 3 * 4);
  const std::string png = (dir / "t.png").string();
  write_png(png, g);
  CHECK(read_file(png).substr(1, 3) == "PNG");
  CHECK_THROWS_WITH(
      write_png((dir / "no/such/dir/x.png").string(), g),
      doctest::Contains("cannot write"));
  const std::string svg =
      loss_curve_svg({{"loss", "#000", {{1, 2.0}, {2, 1.0}, {3, 0.5}}}}, "t");
  CHECK(svg.find("<polyline") != std::string::npos);
  write_file_atomic((dir / "c.svg").string(), svg);
  CHECK(read_file((dir / "c.svg").string()) == svg);
  std::filesystem::remove_all(dir);
}

TEST_CASE("CLI parses typed flags and names the flag, value and rule") {
  int64_t steps = 10;
  double lr = 1e-3;
  std::string out = "o";
  bool quiet = false;
  ArgParser cli("prog", "test");
  cli.add("steps", &steps, "steps", 1, 100);
  cli.add("lr", &lr, "lr", 0, 1);
  cli.add("out", &out, "out");
  cli.add_switch("quiet", &quiet, "quiet");
  const char* ok[] = {"prog", "--steps", "7", "--lr=0.5", "--quiet"};
  CHECK(cli.parse(5, ok));
  CHECK(steps == 7);
  CHECK(lr == 0.5);
  CHECK(quiet);
  CHECK(cli.given("lr"));
  auto fails = [&](std::vector<const char*> argv, const char* msg) {
    CHECK_THROWS_WITH(
        cli.parse(static_cast<int>(argv.size()), argv.data()),
        doctest::Contains(msg));
  };
  fails(
      {"prog", "--steps", "abc"},
      "--steps: expected an integer in [1, 100], got 'abc'");
  fails({"prog", "--steps", "0"}, "got '0'");
  fails({"prog", "--steps=5x"}, "got '5x'");
  fails({"prog", "--lr", "nan"}, "--lr: expected a number in [0, 1]");
  fails({"prog", "--bogus"}, "unknown flag '--bogus'");
  fails({"prog", "--steps"}, "--steps: missing value");
  fails({"prog", "--steps", "3", "--steps", "4"}, "given more than once");
  fails({"prog", "--quiet=1"}, "--quiet: takes no value");
  fails({"prog", "stray"}, "unexpected argument 'stray'");
  CHECK(steps == 7);  // failed parses change nothing
}
