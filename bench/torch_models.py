#!/usr/bin/python3
"""PyTorch twin of `voxgrad-bench --model vae|wgan|unet|attention`: the same models,
losses and optimizer steps as examples/voxel_vae, examples/voxel_wgan_gp and
examples/unet3d_seg, timed
the same way on a fixed synthetic batch (no data generation), printed as the
same JSON lines, so the two can be compared side by side.

    /usr/bin/python3 bench/torch_models.py --model vae --threads 2
    LD_LIBRARY_PATH=build/openblas/usr/lib/x86_64-linux-gnu/openblas-openmp \
        /usr/bin/python3 bench/torch_models.py --model vae --threads 2

Debian's torch 1.13 runs Conv3d through oneDNN and ConvTranspose3d through
vol2col + whatever libblas.so.3 is loaded (the reference BLAS by default);
scripts/model_bench.sh unpacks Debian's OpenBLAS (nothing installed) and
points LD_LIBRARY_PATH at it, as ../shared/anchors/perf does.

--profile prints torch.profiler's key_averages of --reps steps, then their
self time per op class ("op_class <class> <ms>" lines), the classes
bench/op_classes.py puts voxgrad's profiler table in for the comparison.
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import op_classes  # noqa: E402  (bench/op_classes.py)


# ---- the models (examples/voxel_vae/model.cpp, examples/voxel_wgan_gp/model.cpp)

def down(i, o):
    return nn.Conv3d(i, o, 4, stride=2, padding=1)


def up(i, o):
    return nn.ConvTranspose3d(i, o, 4, stride=2, padding=1)


class VoxelVAE(nn.Module):
    def __init__(self, resolution=32, width=16, latent=64):
        super().__init__()
        w, s = width, resolution // 8
        flat = 4 * w * s ** 3
        self.latent = latent
        act = lambda: nn.LeakyReLU(0.2)  # noqa: E731
        self.encoder = nn.Sequential(
            down(1, w), act(), down(w, 2 * w), act(), down(2 * w, 4 * w), act(),
            nn.Flatten(), nn.Linear(flat, 2 * latent))
        self.decoder = nn.Sequential(
            nn.Linear(latent, flat), act(), nn.Unflatten(1, (4 * w, s, s, s)),
            up(4 * w, 2 * w), act(), up(2 * w, w), act(), up(w, 1))

    def forward(self, x, eps):
        h = self.encoder(x)
        mu, logvar = h[:, :self.latent], h[:, self.latent:]
        z = mu + torch.exp(logvar * 0.5) * eps
        return self.decoder(z), mu, logvar


def vae_loss(logits, mu, logvar, target, beta=1.0):
    n = target.shape[0]
    rec = F.binary_cross_entropy_with_logits(logits, target, reduction="sum") / n
    kl = (-0.5 * (1 + logvar - mu * mu - torch.exp(logvar))).sum() / n
    return rec + kl * beta


class WganGp(nn.Module):
    def __init__(self, resolution=16, width=16, latent=64):
        super().__init__()
        w, s = width, resolution // 8
        flat = 4 * w * s ** 3
        self.generator = nn.Sequential(
            nn.Linear(latent, flat), nn.Unflatten(1, (4 * w, s, s, s)),
            nn.BatchNorm3d(4 * w), nn.ReLU(), up(4 * w, 2 * w), nn.BatchNorm3d(2 * w),
            nn.ReLU(), up(2 * w, w), nn.BatchNorm3d(w), nn.ReLU(), up(w, 1),
            nn.Sigmoid())
        lrelu = lambda: nn.LeakyReLU(0.2)  # noqa: E731
        self.critic = nn.Sequential(
            down(1, w), lrelu(), down(w, 2 * w), lrelu(), down(2 * w, 4 * w), lrelu(),
            nn.Flatten(), nn.Linear(flat, 1))


def gradient_penalty(critic, real, fake, alpha, lam):
    x = (alpha * real + (1 - alpha) * fake).detach().requires_grad_()
    score = critic(x)
    g, = torch.autograd.grad(score.sum(), x, create_graph=True)
    norm = torch.sqrt(g.square().sum(dim=(1, 2, 3, 4)) + 1e-12)
    return (norm - 1).square().mean() * lam


class DoubleConv(nn.Sequential):
    """examples/unet3d_seg/model.cpp: (Conv3d k3 p1, GroupNorm, ReLU) x 2,
    GroupNorm(4, C) when 4 divides C, else GroupNorm(1, C)."""

    def __init__(self, i, o):
        g = 4 if o % 4 == 0 else 1
        super().__init__(nn.Conv3d(i, o, 3, padding=1), nn.GroupNorm(g, o), nn.ReLU(),
                         nn.Conv3d(o, o, 3, padding=1), nn.GroupNorm(g, o), nn.ReLU())


class UNet3d(nn.Module):
    """examples/unet3d_seg/model.hpp: MaxPool3d(2) down, ConvTranspose3d(k2 s2)
    up, skips by cat, a 1x1x1 head."""

    def __init__(self, in_channels=1, classes=6, width=16, levels=2):
        super().__init__()
        self.down = nn.ModuleList([DoubleConv(in_channels, width)])
        c = width
        for _ in range(levels):
            self.down.append(DoubleConv(c, 2 * c))
            c *= 2
        self.up, self.up_conv = nn.ModuleList(), nn.ModuleList()
        for _ in range(levels):
            self.up.append(nn.ConvTranspose3d(c, c // 2, 2, stride=2))
            self.up_conv.append(DoubleConv(c, c // 2))
            c //= 2
        self.pool = nn.MaxPool3d(2)
        self.head = nn.Conv3d(width, classes, 1)

    def forward(self, x):
        skips = []
        h = self.down[0](x)
        for d in self.down[1:]:
            skips.append(h)
            h = d(self.pool(h))
        for up, conv in zip(self.up, self.up_conv):
            h = conv(torch.cat([skips.pop(), up(h)], 1))
        return self.head(h)


# ---- the timed steps ------------------------------------------------------

def make_vae(args):
    torch.manual_seed(0)
    model = VoxelVAE(32, 16, 64)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, 4000, eta_min=1e-4)
    g = torch.Generator().manual_seed(1)
    x = (torch.rand(args.batch, 1, 32, 32, 32, generator=g) < 0.3).float()
    eps = torch.randn(args.batch, 64, generator=g)

    def step():
        opt.zero_grad(set_to_none=True)
        logits, mu, logvar = model(x, eps)
        loss = vae_loss(logits, mu, logvar, x)
        loss.backward()
        opt.step()
        sched.step()
        return loss.item()
    return step


def make_wgan(args):
    torch.manual_seed(0)
    model = WganGp(16, 16, 64)
    opt = torch.optim.Adam(
        [{"params": model.generator.parameters()},
         {"params": model.critic.parameters()}], lr=1e-4, betas=(0.5, 0.9))
    g = torch.Generator().manual_seed(1)
    b = args.batch
    real = (torch.rand(b, 1, 16, 16, 16, generator=g) < 0.3).float()
    z = torch.randn(b, 64, generator=g)
    alpha = torch.rand(b, 1, 1, 1, 1, generator=g)

    def critic_step():
        with torch.no_grad():
            fake = model.generator(z)
        opt.zero_grad(set_to_none=True)
        w = model.critic(real).mean() - model.critic(fake).mean()
        gp = gradient_penalty(model.critic, real, fake, alpha, 10.0)
        loss = gp - w
        loss.backward()
        opt.step()
        return loss.item()
    return critic_step


def make_unet(args):
    """One unet3d_seg step: batch 4 (not --batch), 32^3, 6 classes,
    per-voxel cross-entropy, Adam, as voxgrad-bench --model unet."""
    torch.manual_seed(0)
    model = UNet3d()
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    g = torch.Generator().manual_seed(1)
    x = (torch.rand(4, 1, 32, 32, 32, generator=g) < 0.3).float()
    labels = torch.randint(0, 6, (4, 32, 32, 32), generator=g)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), labels)
        loss.backward()
        opt.step()
        return loss.item()
    return step


def make_attention(args):
    """Self-attention at an 8^3 U-Net bottleneck: (L, N, E) = (512, 2, 64),
    4 heads; forward with the averaged weights, mean(y^2), backward (no
    optimizer), as voxgrad-bench --model attention. --batch is not used."""
    torch.manual_seed(0)
    mha = nn.MultiheadAttention(64, 4)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(512, 2, 64, generator=g).requires_grad_()

    def step():
        mha.zero_grad(set_to_none=True)
        x.grad = None
        y, _ = mha(x, x, x)
        loss = (y * y).mean()
        loss.backward()
        return loss.item()
    return step


MODELS = {"vae": make_vae, "wgan": make_wgan, "unet": make_unet,
          "attention": make_attention}


def rss_kib(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def reset_peak_rss():
    """Resets VmHWM to the current RSS (Linux >= 4.0), so the peak measured
    afterwards is that of the timed steps only."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", action="append", choices=sorted(MODELS))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--reps", type=int, default=11)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--profile", action="store_true",
                   help="print key_averages of --reps steps instead of timing")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    blas = "openblas" if "openblas" in os.environ.get("LD_LIBRARY_PATH", "") else "system"
    for name in args.model or ["vae"]:
        idle_kib = rss_kib("VmRSS")
        step = MODELS[name](args)
        for _ in range(args.warmup):
            step()
        if args.profile:
            from torch.profiler import profile, ProfilerActivity
            with profile(activities=[ProfilerActivity.CPU]) as prof:
                for _ in range(args.reps):
                    step()
            print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=40))
            print(op_classes.format_torch_classes(op_classes.torch_classes(prof.events())))
            continue
        base_kib = rss_kib("VmRSS")
        have_peak = reset_peak_rss()
        times = []
        for _ in range(args.reps):
            t0 = time.perf_counter()
            step()
            times.append((time.perf_counter() - t0) * 1e3)
        peak_kib = rss_kib("VmHWM")
        out = {"model": name, "impl": "pytorch-" + torch.__version__.split("+")[0],
               "blas": blas, "threads": args.threads,
               "batch": {"attention": 2, "unet": 4}.get(name, args.batch),
               "median_ms": round(statistics.median(times), 4),
               "min_ms": round(min(times), 4), "reps": len(times),
               "idle_rss_mib": round(idle_kib / 1024, 1),
               "step_peak_increment_mib":
                   round((peak_kib - base_kib) / 1024, 1) if have_peak else None,
               "peak_over_idle_mib": round((peak_kib - idle_kib) / 1024, 1)}
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    sys.exit(main())
