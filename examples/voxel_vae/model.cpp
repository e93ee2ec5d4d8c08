#include "model.hpp"

#include <cmath>

#include "voxgrad/autograd/ops.hpp"
#include "voxgrad/core/error.hpp"
#include "voxgrad/nn/activation.hpp"
#include "voxgrad/nn/conv.hpp"
#include "voxgrad/nn/flatten.hpp"
#include "voxgrad/nn/linear.hpp"
#include "voxgrad/nn/loss.hpp"
#include "voxgrad/nn/normalization.hpp"

namespace voxgrad::examples {
namespace {

// Builds the layers of one network, appending norm and activation after
// each layer as the architecture says.
class Builder {
 public:
  explicit Builder(const VaeArch& a) : a_(a) {}
  void conv(int64_t in, int64_t out, int64_t k, int64_t s, int64_t p) {
    add(nn::Conv3d(nn::Conv3dOptions(in, out, k).stride(s).padding(p)));
    finish(out, true);
  }
  void up(int64_t in, int64_t out, int64_t k, int64_t s, int64_t p, bool last) {
    add(nn::ConvTranspose3d(
        nn::ConvTranspose3dOptions(in, out, k).stride(s).padding(p)));
    if (!last)
      finish(out, true);
  }
  void linear(int64_t in, int64_t out, bool act) {
    add(nn::Linear(in, out));
    if (a_.norm == "batch")
      add(nn::BatchNorm1d(out));
    if (act)
      activation();
  }
  void add(nn::AnyModule m) {
    layers_.push_back(std::move(m));
  }
  void activation() {
    if (a_.act == "elu")
      add(nn::ELU());
    else
      add(nn::LeakyReLU(nn::LeakyReLUOptions().negative_slope(0.2)));
  }
  nn::Sequential done() {
    nn::Sequential s;
    for (auto& m : layers_)
      s->push_back(m);
    return s;
  }

 private:
  void finish(int64_t channels, bool act) {
    if (a_.norm == "batch")
      add(nn::BatchNorm3d(channels));
    if (act)
      activation();
  }
  const VaeArch& a_;
  std::vector<nn::AnyModule> layers_;
};

}  // namespace

VoxelVAE::VoxelVAE(const VaeArch& arch) : arch_(arch) {
  VOXGRAD_CHECK(
      arch.layout == "default" || arch.layout == "brock",
      "VoxelVAE: layout must be \"default\" or \"brock\" (got \"", arch.layout,
      "\")");
  VOXGRAD_CHECK(
      arch.act == "lrelu" || arch.act == "elu",
      "VoxelVAE: act must be \"lrelu\" or \"elu\" (got \"", arch.act, "\")");
  VOXGRAD_CHECK(
      arch.norm == "none" || arch.norm == "batch",
      "VoxelVAE: norm must be \"none\" or \"batch\" (got \"", arch.norm, "\")");
  VOXGRAD_CHECK(
      arch.inputs == "01" || arch.inputs == "brock",
      "VoxelVAE: inputs must be \"01\" or \"brock\" (got \"", arch.inputs,
      "\")");
  VOXGRAD_CHECK(
      arch.latent >= 1 && arch.latent <= 4096,
      "VoxelVAE: latent must be in [1, 4096] (got ", arch.latent, ")");
  Builder enc(arch), dec(arch);
  const int64_t z = arch.latent;
  if (arch.layout == "brock") {
    VOXGRAD_CHECK(
        arch.resolution == 32, "VoxelVAE: layout \"brock\" is for 32^3 (got ",
        arch.resolution, "^3)");
    enc.conv(1, 8, 3, 1, 0);    // 30
    enc.conv(8, 16, 3, 2, 1);   // 15
    enc.conv(16, 32, 3, 1, 0);  // 13
    enc.conv(32, 64, 3, 2, 1);  // 7
    enc.add(nn::Flatten());
    enc.linear(64 * 343, 343, true);
    enc.linear(343, 2 * z, false);  // mu and log sigma side by side
    dec.linear(z, 343, true);
    dec.add(nn::Unflatten(nn::UnflattenOptions(1, {1, 7, 7, 7})));
    dec.conv(1, 64, 3, 1, 1);
    dec.up(64, 32, 3, 2, 0, false);  // 15
    dec.conv(32, 16, 3, 1, 1);
    dec.up(16, 8, 4, 2, 0, false);  // 32
    dec.add(nn::Conv3d(nn::Conv3dOptions(8, 1, 3).padding(1)));
    if (arch.norm == "batch")  // Brock normalises the output too
      dec.add(nn::BatchNorm3d(1));
  } else {
    VOXGRAD_CHECK(
        arch.resolution >= 8 && arch.resolution % 8 == 0,
        "VoxelVAE: resolution must be a multiple of 8 (got ", arch.resolution,
        ")");
    VOXGRAD_CHECK(
        arch.width >= 1 && arch.width <= 256,
        "VoxelVAE: width must be in [1, 256] (got ", arch.width, ")");
    const int64_t w = arch.width, s = arch.resolution / 8;
    const int64_t flat = 4 * w * s * s * s;
    enc.conv(1, w, 4, 2, 1);
    enc.conv(w, 2 * w, 4, 2, 1);
    enc.conv(2 * w, 4 * w, 4, 2, 1);
    enc.add(nn::Flatten());
    enc.add(nn::Linear(flat, 2 * z));
    dec.linear(z, flat, true);
    dec.add(nn::Unflatten(nn::UnflattenOptions(1, {4 * w, s, s, s})));
    dec.up(4 * w, 2 * w, 4, 2, 1, false);
    dec.up(2 * w, w, 4, 2, 1, false);
    dec.up(w, 1, 4, 2, 1, true);
  }
  encoder_ = register_module("encoder", enc.done());
  decoder_ = register_module("decoder", dec.done());
}

std::pair<Tensor, Tensor> VoxelVAE::encode(const Tensor& x) {
  const Tensor h = encoder_(arch_.inputs == "brock" ? x * 3.0 - 1.0 : x);
  const Tensor mu = h.slice(1, 0, arch_.latent);
  const Tensor second = h.slice(1, arch_.latent, 2 * arch_.latent);
  // Brock's encoder outputs log sigma; as a log variance that is twice it.
  return {mu, arch_.layout == "brock" ? second * 2.0 : second};
}

Tensor VoxelVAE::decode(const Tensor& z) {
  return decoder_(z);
}

Tensor VoxelVAE::forward(const Tensor& x) {
  return decode(encode(x).first);
}

VaeOutput VoxelVAE::forward(const Tensor& x, const Tensor& eps) {
  auto [mu, logvar] = encode(x);
  const Tensor z = mu + exp(logvar * 0.5) * eps;
  return {decode(z), mu, logvar};
}

VaeLoss vae_loss(
    const VaeOutput& out,
    const Tensor& target,
    double beta,
    const std::string& reconstruction,
    double gamma) {
  namespace F = nn::functional;
  const double n = static_cast<double>(target.size(0));
  Tensor rec;
  if (reconstruction == "brock") {
    // log o = log(0.1 + 0.9 sigmoid(x)) (o >= 0.1, no log 0);
    // log(1 - o) = log 0.9 + log_sigmoid(-x), stable for large x. With
    // t' = 2 the term -(1 - gamma)(1 - t') log(1 - o) falls without bound
    // as o -> 1; Brock's code clips o at 1 - 1e-7, and so do we.
    const Tensor t = target * 3.0 - 1.0;
    const Tensor log_o = log(sigmoid(out.logits) * 0.9 + 0.1);
    const Tensor log_1mo =
        clamp_min(log_sigmoid(-out.logits) + std::log(0.9), std::log(1e-7));
    rec = -(t * log_o * gamma + (1.0 - t) * log_1mo * (1.0 - gamma)).sum() / n;
  } else {
    VOXGRAD_CHECK(
        reconstruction == "bce",
        "vae_loss: reconstruction must be \"bce\" or "
        "\"brock\" (got \"",
        reconstruction, "\")");
    rec = F::binary_cross_entropy_with_logits(
              out.logits, target, {}, {}, nn::Reduction::Sum) /
          n;
  }
  const Tensor kl =
      F::kl_divergence_gaussian(out.mu, out.logvar, nn::Reduction::Sum) / n;
  return {rec + kl * beta, rec, kl};
}

}  // namespace voxgrad::examples
