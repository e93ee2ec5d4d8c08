#include "report.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <sstream>

#include "files.hpp"
#include "image.hpp"
#include "latent_fit.hpp"
#include "mesh.hpp"
#include "plot.hpp"
#include "render.hpp"
#include "voxgrad/autograd/ops.hpp"
#include "voxgrad/core/grad_mode.hpp"

namespace voxgrad::examples {
namespace {

constexpr int64_t kEvalBatch = 32;
constexpr int kTile = 96;

// Occupancy probabilities of decoded logits.
Tensor probabilities(const Tensor& logits) {
  return sigmoid(logits).contiguous();
}

const float* item(const Tensor& batch, int64_t i) {
  const int64_t n = batch.numel() / batch.size(0);
  return batch.data<float>() + i * n;
}

Image labelled(Image tile, const std::string& text) {
  tile.draw_text(4, 3, text, {70, 70, 70});
  return tile;
}

}  // namespace

IouReport held_out_iou(
    VoxelVAE& model, const VoxelDataset& data, int64_t points) {
  NoGradGuard no_grad;
  const EvalMode eval(model);
  const int64_t n = data.size(Split::Test);
  const int64_t vox = data.resolution() * data.resolution() * data.resolution();
  std::map<int64_t, std::pair<double, int>> kinds;
  IouReport r;
  for (int64_t b = 0; b < n; b += kEvalBatch) {
    const int64_t e = std::min(n, b + kEvalBatch);
    const Tensor x = data.range(Split::Test, b, e);
    const Tensor logits = model.forward(x).contiguous();
    add_reconstructions(
        r.surface, probabilities(logits), x, {.points = points, .seed = 1});
    for (int64_t i = 0; i < e - b; ++i) {
      const float* t = item(x, i);
      const float* l = item(logits, i);
      int64_t inter = 0, uni = 0;
      for (int64_t v = 0; v < vox; ++v) {
        const bool p = l[v] > 0, g = t[v] > 0.5f;
        inter += p && g;
        uni += p || g;
      }
      const double iou =
          uni == 0 ? 1.0
                   : static_cast<double>(inter) / static_cast<double>(uni);
      r.mean += iou;
      auto& k = kinds[data.label(Split::Test, b + i)];
      k.first += iou;
      k.second += 1;
    }
  }
  r.shapes = n;
  r.mean /= static_cast<double>(n);
  for (const auto& [label, acc] : kinds)
    r.per_kind.emplace_back(
        data.class_names()[static_cast<size_t>(label)], acc.first / acc.second);
  return r;
}

GenerationReport sample_metrics(
    VoxelVAE& model,
    const VoxelDataset& data,
    int64_t count,
    int64_t points,
    uint64_t seed) {
  NoGradGuard no_grad;
  const EvalMode eval(model);
  count = std::min(count, data.size(Split::Test));
  Generator gen(seed * 0x9E3779B97F4A7C15ULL + 0x4D4D44ULL);
  const Tensor s = probabilities(model.decode(fitted_latent_samples(
      model, data, std::min<int64_t>(1024, data.size(Split::Train)), count,
      gen)));
  return generation_report(
      s, data.range(Split::Test, 0, count), {.points = points, .seed = 2});
}

std::string per_kind_text(const IouReport& r) {
  std::ostringstream os;
  os.precision(3);
  for (size_t i = 0; i < r.per_kind.size(); ++i)
    os << (i ? ", " : "") << r.per_kind[i].first << " " << std::fixed
       << r.per_kind[i].second;
  return os.str();
}

void write_pictures(
    VoxelVAE& model,
    const VoxelDataset& data,
    const TrainHistory& history,
    const std::string& dir,
    uint64_t seed) {
  NoGradGuard no_grad;
  const EvalMode eval(model);
  const int64_t res = data.resolution();
  const int scale = std::max(1, kTile / static_cast<int>(res));
  const View view{.size = kTile};
  View recon_view = view;
  recon_view.color = {220, 120, 70};

  // Held-out inputs beside reconstructions: two panels of 4 columns
  // (input 3-D, reconstruction 3-D, input mid-slice, reconstruction
  // mid-slice), 4 shapes each.
  const int64_t shown = std::min<int64_t>(8, data.size(Split::Test));
  const Tensor x = data.range(Split::Test, 0, shown);
  const Tensor p = probabilities(model.forward(x));
  std::vector<Image> tiles;
  const int64_t rows = (shown + 1) / 2;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t half = 0; half < 2; ++half) {
      const int64_t i = r + half * rows;
      if (i >= shown) {
        for (int k = 0; k < 4; ++k)
          tiles.emplace_back(kTile, kTile);
        continue;
      }
      const bool top = r == 0;
      tiles.push_back(labelled(
          shaded_projection(item(x, i), res, view), top ? "input" : ""));
      tiles.push_back(labelled(
          shaded_projection(item(p, i), res, recon_view),
          top ? "reconstruction" : ""));
      tiles.push_back(volume_slice(item(x, i), res, res / 2, scale));
      tiles.push_back(volume_slice(item(p, i), res, res / 2, scale));
    }
  write_png(dir + "/reconstructions.png", tile_grid(tiles, 8, 4));

  // Random samples, rows of 3-D views alternating with rows of mid-slices:
  // from the prior N(0, I), and from a Gaussian fitted to training codes
  // (see latent_fit.hpp for why the two differ).
  Generator gen(seed * 0x9E3779B97F4A7C15ULL + 0x53414D50ULL);
  const int64_t count = 16;
  View sample_view = view;
  sample_view.color = {110, 170, 110};
  const Tensor prior = probabilities(
      model.decode(randn({count, model.arch().latent}, kFloat32, &gen)));
  write_png(dir + "/samples_prior.png", volume_grid(prior, 8, sample_view));
  const Tensor s = probabilities(
      model.decode(fitted_latent_samples(model, data, 1024, count, gen)));
  write_png(dir + "/samples.png", volume_grid(s, 8, sample_view));
  for (int64_t i = 0; i < 4; ++i)
    write_file_atomic(
        dir + "/sample_" + std::to_string(i) + ".obj",
        to_obj(
            surface_nets(item(s, i), res),
            "voxel_vae random sample " + std::to_string(i) +
                " (surface p = 0.5; unit cube [-1, 1]^3)"));

  Series loss{"loss", "#1f77b4", {}}, rec{"reconstruction", "#ff7f0e", {}},
      kl{"KL", "#2ca02c", {}};
  for (const StepStats& st : history.steps) {
    const auto t = static_cast<double>(st.step);
    loss.points.emplace_back(t, st.loss);
    rec.points.emplace_back(t, st.rec);
    kl.points.emplace_back(t, st.kl);
  }
  Series trend{"loss (smoothed)", "#d62728", smoothed(loss.points)};
  loss.color = "#9ecae1";
  write_file_atomic(
      dir + "/loss_curve.svg",
      loss_curve_svg(
          {loss, trend, rec, kl}, "voxel_vae training loss (nats per shape)"));
}

void write_loss_log(const TrainHistory& history, const std::string& path) {
  std::string text = "step,loss,rec,kl,lr\n";
  char buf[160];
  for (const StepStats& s : history.steps) {
    std::snprintf(
        buf, sizeof buf, "%lld,%.17g,%.17g,%.17g,%.17g\n",
        static_cast<long long>(s.step), s.loss, s.rec, s.kl, s.lr);
    text += buf;
  }
  write_file_atomic(path, text);
}

}  // namespace voxgrad::examples
