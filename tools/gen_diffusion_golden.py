#!/usr/bin/python3
"""Writes tests/golden/diffusion.json: PyTorch 1.13 references for
examples/voxel_diffusion (read by its tests/test_golden.cpp):

- the linear and cosine beta schedules and alphas_cumprod, as OpenAI's
  improved-diffusion computes them (get_named_beta_schedule,
  betas_for_alpha_bar);
- single steps of DDPM's ancestral sampler (p_sample with clip_denoised and
  the fixed small posterior variance) and of DDIM (ddim_sample: eps
  recomputed from the clipped x0), written as improved-diffusion writes
  them, from its precomputed arrays;
- the U-Net of examples/voxel_diffusion/unet.hpp, written here with
  torch.nn (nn.MultiheadAttention for the attention), on two layouts:
  its output and, for the loss sum(y * gy), the input's gradient and two
  projections of every parameter's gradient.

The U-Net's parameters, inputs and upstream gradient are not stored: both
sides compute them from closed formulas (math.sin / std::sin of glibc), so
the file stays small.

Run with Debian's Python, which has torch 1.13 (a pyenv `python3` may not):
    /usr/bin/python3 tools/gen_diffusion_golden.py
"""

import json
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "tests", "golden",
    "diffusion.json")
torch.set_num_threads(1)
torch.set_default_dtype(torch.float64)


def values(t):
    return [float(a) for a in torch.as_tensor(t).reshape(-1).tolist()]


def T(t):
    t = torch.as_tensor(t).detach()
    return {"shape": list(t.shape), "data": values(t)}


# ---- schedules (improved-diffusion, gaussian_diffusion.py) ------------------

def linear_betas(n):
    scale = 1000 / n
    return torch.linspace(scale * 0.0001, scale * 0.02, n,
                          dtype=torch.float64)


def cosine_betas(n, max_beta=0.999):
    def alpha_bar(t):
        return math.cos((t + 0.008) / 1.008 * math.pi / 2) ** 2
    return torch.tensor([min(1 - alpha_bar((i + 1) / n) / alpha_bar(i / n),
                             max_beta) for i in range(n)])


def arrays(betas):
    alphas = 1.0 - betas
    ac = torch.cumprod(alphas, 0)
    ac_prev = torch.cat([torch.ones(1), ac[:-1]])
    return {
        "betas": betas, "ac": ac, "ac_prev": ac_prev,
        "sqrt_recip_ac": torch.sqrt(1.0 / ac),
        "sqrt_recipm1_ac": torch.sqrt(1.0 / ac - 1),
        "post_var": betas * (1.0 - ac_prev) / (1.0 - ac),
        "post_c1": betas * torch.sqrt(ac_prev) / (1.0 - ac),
        "post_c2": (1.0 - ac_prev) * torch.sqrt(alphas) / (1.0 - ac),
    }


def p_sample(a, x, eps, t, z):
    x0 = (a["sqrt_recip_ac"][t] * x - a["sqrt_recipm1_ac"][t] * eps)
    x0 = x0.clamp(-1, 1)
    mean = a["post_c1"][t] * x0 + a["post_c2"][t] * x
    nonzero = 1.0 if t != 0 else 0.0
    return mean + nonzero * torch.sqrt(a["post_var"][t]) * z


def ddim_step(a, x, eps, t, t_prev, eta, z):
    x0 = (a["sqrt_recip_ac"][t] * x - a["sqrt_recipm1_ac"][t] * eps)
    x0 = x0.clamp(-1, 1)
    eps = (a["sqrt_recip_ac"][t] * x - x0) / a["sqrt_recipm1_ac"][t]
    ab = a["ac"][t]
    ab_prev = a["ac"][t_prev] if t_prev >= 0 else torch.tensor(1.0)
    sigma = (eta * torch.sqrt((1 - ab_prev) / (1 - ab))
             * torch.sqrt(1 - ab / ab_prev))
    mean = x0 * torch.sqrt(ab_prev) + torch.sqrt(1 - ab_prev - sigma ** 2) * eps
    return mean + sigma * z


torch.manual_seed(20261202)
schedules = []
for name, fn in [("linear", linear_betas), ("cosine", cosine_betas)]:
    for n in (100, 1000):
        betas = fn(n)
        a = arrays(betas)
        entry = {"schedule": name, "T": n}
        if n == 100:
            entry["betas"] = values(betas)
            entry["alphas_cumprod"] = values(a["ac"])
        else:  # a few entries of the long ones
            idx = [0, 1, 2, 499, 500, 997, 998, 999]
            entry["index"] = idx
            entry["betas"] = values(betas[idx])
            entry["alphas_cumprod"] = values(a["ac"][idx])
        steps = []
        x = torch.randn(2, 3, 2) * 1.3
        eps = torch.randn(2, 3, 2)
        z = torch.randn(2, 3, 2)
        last = n - 1
        for t in (0, 1, n // 2, last):
            steps.append({"sampler": "ddpm", "t": t,
                          "out": values(p_sample(a, x, eps, t, z))})
        for t, t_prev, eta in ((last, last - n // 5, 0.0),
                               (n // 2 + 9, n // 2 - 11, 0.3),
                               (n // 5, -1, 1.0), (5, 4, 1.0), (3, 0, 0.7)):
            steps.append({"sampler": "ddim", "t": t, "t_prev": t_prev,
                          "eta": eta,
                          "out": values(ddim_step(a, x, eps, t, t_prev, eta,
                                                  z))})
        entry.update({"x": T(x), "eps": T(eps), "z": T(z), "steps": steps})
        schedules.append(entry)


# ---- the U-Net (examples/voxel_diffusion/unet.hpp) ---------------------------

def groups_for(c, g):
    g = min(c, g)
    while c % g:
        g -= 1
    return g


class ResBlock(nn.Module):
    def __init__(self, i, o, emb, groups):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups_for(i, groups), i)
        self.conv1 = nn.Conv3d(i, o, 3, padding=1)
        self.emb_proj = nn.Linear(emb, o)
        self.norm2 = nn.GroupNorm(groups_for(o, groups), o)
        self.conv2 = nn.Conv3d(o, o, 3, padding=1)
        self.skip = nn.Conv3d(i, o, 1) if i != o else None

    def forward(self, x, emb):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.emb_proj(F.silu(emb))[:, :, None, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return (self.skip(x) if self.skip is not None else x) + h


class AttentionBlock(nn.Module):
    def __init__(self, c, heads, groups):
        super().__init__()
        self.norm = nn.GroupNorm(groups_for(c, groups), c)
        self.attn = nn.MultiheadAttention(c, heads, batch_first=True)

    def forward(self, x):
        n, c = x.shape[:2]
        tokens = self.norm(x).reshape(n, c, -1).transpose(1, 2)
        h, _ = self.attn(tokens, tokens, tokens, need_weights=False)
        return x + h.transpose(1, 2).reshape(x.shape)


class Down(nn.Module):
    def __init__(self, c, mode):
        super().__init__()
        self.conv = nn.Conv3d(c, c, 3, stride=2, padding=1) \
            if mode == "conv" else None

    def forward(self, x):
        return self.conv(x) if self.conv is not None else F.avg_pool3d(x, 2)


class Up(nn.Module):
    def __init__(self, c, mode):
        super().__init__()
        if mode == "transposed":
            self.up = nn.ConvTranspose3d(c, c, 4, stride=2, padding=1)
        else:
            self.conv = nn.Conv3d(c, c, 3, padding=1)
        self.mode = mode

    def forward(self, x):
        if self.mode == "transposed":
            return self.up(x)
        return self.conv(F.interpolate(x, scale_factor=2, mode="nearest"))


def pixel_shuffle3d(x, r):
    *b, c, d, h, w = x.shape
    y = x.reshape(*b, c // r**3, r, r, r, d, h, w)
    n = len(b)
    perm = list(range(n)) + [n + i for i in (0, 4, 1, 5, 2, 6, 3)]
    return y.permute(perm).reshape(*b, c // r**3, d * r, h * r, w * r)


def pixel_unshuffle3d(x, r):
    *b, c, d, h, w = x.shape
    y = x.reshape(*b, c, d // r, r, h // r, r, w // r, r)
    n = len(b)
    perm = list(range(n)) + [n + i for i in (0, 2, 4, 6, 1, 3, 5)]
    return y.permute(perm).reshape(*b, c * r**3, d // r, h // r, w // r)


def timestep_embedding(t, dim):
    half = dim // 2
    w = torch.exp(-math.log(10000) * torch.arange(half) / (half - 1))
    a = t[:, None] * w[None]
    return torch.cat([torch.sin(a), torch.cos(a)], 1)


class UNet3d(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.a = a
        w, emb, cells = a["width"], 4 * a["width"], a["patch"] ** 3
        self.temb1 = nn.Linear(w, emb)
        self.temb2 = nn.Linear(emb, emb)
        if a["num_classes"]:
            self.label_emb = nn.Embedding(a["num_classes"], emb)
        self.conv_in = nn.Conv3d(cells, w, 3, padding=1)
        levels, ch, skip = len(a["mults"]), w, []
        for l, m in enumerate(a["mults"]):
            for b in range(a["blocks"]):
                setattr(self, f"down{l}_{b}", ResBlock(ch, w * m, emb,
                                                       a["groups"]))
                ch = w * m
            skip.append(ch)
            if l + 1 < levels:
                setattr(self, f"downsample{l}", Down(ch, a["downsample"]))
        self.mid1 = ResBlock(ch, ch, emb, a["groups"])
        self.attn = AttentionBlock(ch, a["heads"], a["groups"])
        self.mid2 = ResBlock(ch, ch, emb, a["groups"])
        for l in reversed(range(levels)):
            ch += skip[l]
            for b in range(a["blocks"]):
                setattr(self, f"up{l}_{b}", ResBlock(
                    ch, w * a["mults"][l], emb, a["groups"]))
                ch = w * a["mults"][l]
            if l > 0:
                setattr(self, f"upsample{l}", Up(ch, a["upsample"]))
        self.norm_out = nn.GroupNorm(groups_for(ch, a["groups"]), ch)
        self.conv_out = nn.Conv3d(ch, cells, 3, padding=1)

    def forward(self, x, t, labels=None):
        a = self.a
        emb = self.temb2(F.silu(self.temb1(timestep_embedding(t, a["width"]))))
        if a["num_classes"]:
            emb = emb + self.label_emb(labels)
        h = pixel_unshuffle3d(x, a["patch"]) if a["patch"] > 1 else x
        h = self.conv_in(h)
        levels, skips = len(a["mults"]), []
        for l in range(levels):
            for b in range(a["blocks"]):
                h = getattr(self, f"down{l}_{b}")(h, emb)
            skips.append(h)
            if l + 1 < levels:
                h = getattr(self, f"downsample{l}")(h)
        h = self.mid2(self.attn(self.mid1(h, emb)), emb)
        for l in reversed(range(levels)):
            h = torch.cat([h, skips[l]], 1)
            for b in range(a["blocks"]):
                h = getattr(self, f"up{l}_{b}")(h, emb)
            if l > 0:
                h = getattr(self, f"upsample{l}")(h)
        h = self.conv_out(F.silu(self.norm_out(h)))
        return pixel_shuffle3d(h, a["patch"]) if a["patch"] > 1 else h


# The closed formulas both sides use (test_golden.cpp has the same).
def param_value(k, i):
    return 0.3 * math.sin(0.37 * i + 1.1 * k + 0.5)


def input_value(i):
    return 1.5 * math.sin(0.71 * i + 0.2)


def upstream_value(i):
    return math.cos(0.29 * i)


def projection(i):
    return math.cos(0.13 * i + 0.4)


unets = []
for a in [
        {"resolution": 8, "patch": 2, "width": 4, "mults": [1, 2],
         "blocks": 1, "heads": 2, "groups": 4, "downsample": "conv",
         "upsample": "transposed", "num_classes": 3},
        {"resolution": 8, "patch": 1, "width": 4, "mults": [1, 2, 2],
         "blocks": 2, "heads": 1, "groups": 2, "downsample": "pool",
         "upsample": "nearest", "num_classes": 0}]:
    net = UNet3d(a)
    names = sorted(n for n, _ in net.named_parameters())
    params = dict(net.named_parameters())
    with torch.no_grad():
        for k, name in enumerate(names):
            p = params[name]
            p.copy_(torch.tensor([param_value(k, i) for i in range(p.numel())])
                    .reshape(p.shape))
    r = a["resolution"]
    shape = (2, 1, r, r, r)
    n = 2 * r ** 3
    x = torch.tensor([input_value(i) for i in range(n)]).reshape(shape)
    x.requires_grad_(True)
    t = torch.tensor([3.0, 711.0])
    labels = torch.tensor([2, 0]) if a["num_classes"] else None
    y = net(x, t, labels)
    gy = torch.tensor([upstream_value(i) for i in range(n)]).reshape(shape)
    (y * gy).sum().backward()
    grads = {}
    for name in names:
        g = params[name].grad.reshape(-1).tolist()
        grads[name] = [sum(g), sum(v * projection(i) for i, v in enumerate(g))]
    unets.append({"arch": a, "t": values(t),
                  "labels": labels.tolist() if labels is not None else None,
                  "parameters": names, "y": values(y), "x_grad": values(x.grad),
                  "param_grad_projections": grads})

doc = {"format": "voxgrad-diffusion-golden", "version": 1,
       "torch_version": torch.__version__, "schedules": schedules,
       "unets": unets}
os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, "w") as f:
    json.dump(doc, f, separators=(",", ":"))
    f.write("\n")
print(f"wrote {len(schedules)} schedules and {len(unets)} U-Nets, "
      f"{os.path.getsize(OUT)} bytes to {os.path.normpath(OUT)}",
      file=sys.stderr)
