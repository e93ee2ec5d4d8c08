#!/usr/bin/python3
"""Writes tests/golden/kit_layers.json: PyTorch 1.13 references for the
layers and ops of the research kit's layer half (issue 11): pooling,
activations and pointwise ops, LayerNorm / InstanceNorm3d / BatchNorm1d and
PixelShuffle3d / PixelUnshuffle3d. tests/nn/test_kit_golden.cpp reads it.

Run with Debian's Python, which has torch 1.13 (a pyenv `python3` may not):
    /usr/bin/python3 tools/gen_kit_golden.py

Every input, parameter and upstream gradient is a float32 value stored as a
double, so the float64 and float32 runs start from the same numbers; each
case is run by PyTorch in both dtypes and both results are stored. A case
names a module (with its options and the state dict to load) or a
functional op, and one or more steps (inputs, train/eval); each step keeps
every output, an upstream gradient per floating output, the gradients of
sum(y * gy) for every input ("input0", ...) and parameter, buffers after the
step and, for index outputs, the int64 indices. PyTorch 1.13 has no 3-D pixel
shuffle: its reference is the reshape/permute of NOTE [ PixelShuffle3d
channel order ] in voxgrad/nn/pixel_shuffle.hpp, checked here against
torch's 2-D pixel_shuffle on the slices where the two must agree.
"""

import json
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

SEED = 20240611
OUT = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "tests", "golden",
    "kit_layers.json")

torch.manual_seed(SEED)
torch.set_num_threads(1)


def f32(t):
    """Rounds to float32 values, kept as float64."""
    return torch.as_tensor(t, dtype=torch.float64).float().double()


def randn(*shape, scale=1.0, shift=0.0):
    return f32(torch.randn(shape, dtype=torch.float64) * scale + shift)


def away_from(*shape, points=(0.0,), gap=0.1, scale=2.0):
    """Random values at least `gap` away from each kink in `points`."""
    x = torch.randn(*shape, dtype=torch.float64) * scale
    for p in points:
        d = x - p
        x = torch.where(d.abs() < gap, p + torch.sign(d + 1e-30) * gap, x)
    return f32(x)


def quantized(*shape, levels=5, step=0.5):
    """Values on a coarse grid: many exact ties for max pooling."""
    return f32(torch.randint(-levels, levels + 1, shape).double() * step)


def T(t):
    """A tensor as JSON: float64 values exactly (repr), float32 results with
    the 9 significant digits that identify a float32 (shorter; compared with
    a tolerance far above that rounding)."""
    t = torch.as_tensor(t).detach()
    v = t.reshape(-1).tolist()
    if t.dtype in (torch.int64, torch.int32, torch.bool):
        data = [int(a) for a in v]
    elif t.dtype == torch.float32:
        data = [finite_or_str(float(f"{a:.9g}")) for a in v]
    else:
        data = [finite_or_str(float(a)) for a in v]
    return {"shape": list(t.shape), "data": data}


def finite_or_str(a):
    """JSON has no NaN or infinity: they are stored as "nan", "inf", "-inf"."""
    if math.isnan(a):
        return "nan"
    if math.isinf(a):
        return "inf" if a > 0 else "-inf"
    return a


CASES = []


def run_dtype(make, params, steps, gys, dtype):
    """Runs the case in `dtype`; returns one record per step."""
    fn, module = make()
    if module is not None:
        module.to(dtype)
        with torch.no_grad():
            sd = module.state_dict()
            for k, v in params.items():
                sd[k].copy_(v)
    records = []
    for (inputs, training), gy in zip(steps, gys):
        if module is not None:
            module.train(training)
            for p in module.parameters():
                p.grad = None
        xs = [x.to(dtype).clone().requires_grad_(True) for x in inputs]
        out = fn(*xs)
        outs = list(out) if isinstance(out, (tuple, list)) else [out]
        loss = 0
        for y, g in zip(outs, gy):
            if y.is_floating_point():
                loss = loss + (y * g.to(dtype)).sum()
        loss.backward()
        rec = {"outputs": [T(y) for y in outs],
               "grads": {f"input{i}": T(x.grad) for i, x in enumerate(xs)
                         if x.grad is not None}}
        if module is not None:
            for n, p in module.named_parameters():
                rec["grads"][n] = T(p.grad)
            rec["buffers"] = {n: T(b) for n, b in module.named_buffers()}
        records.append(rec)
    return records


def case(name, target, config, make, steps, kind="module", randomize=True):
    """make() -> (callable, module or None), fresh each call. steps: list of
    (inputs, training). Module parameters are re-drawn (float32 values) so
    every entry matters; buffers keep their initial values."""
    params = {}
    _, module = make()
    if module is not None:
        for n, v in module.state_dict().items():
            if randomize and n in dict(module.named_parameters()):
                v = randn(*v.shape, scale=0.5,
                          shift=1.0 if "norm" in name.lower() and
                          n == "weight" else 0.0)
            params[n] = v.double()
    # Upstream gradients: one per floating output, float32 values.
    gys = []
    probe_fn, probe_module = make()
    for inputs, training in steps:
        if probe_module is not None:
            probe_module.double()
            with torch.no_grad():
                sd = probe_module.state_dict()
                for k, v in params.items():
                    sd[k].copy_(v)
            probe_module.train(training)
        out = probe_fn(*[x.clone() for x in inputs])
        outs = list(out) if isinstance(out, (tuple, list)) else [out]
        gys.append([randn(*y.shape) if y.is_floating_point() else None
                    for y in outs])
    results = {d: run_dtype(make, params, steps, gys, getattr(torch, d))
               for d in ("float64", "float32")}
    CASES.append({
        "name": name, "kind": kind, "target": target, "config": config,
        "params": {k: T(v) for k, v in params.items()},
        "steps": [{"training": tr, "inputs": [T(x) for x in xs],
                   "gy": [T(g) if g is not None else None for g in gy]}
                  for (xs, tr), gy in zip(steps, gys)],
        "results": results})


def op(name, target, config, fn, inputs):
    case(name, target, config, lambda: (fn, None), [(inputs, True)],
         kind="op")


def module(name, target, config, ctor, steps, randomize=True):
    def make():
        m = ctor()
        return m, m
    case(name, target, config, make, steps, randomize=randomize)


# ---- pointwise ops ----------------------------------------------------------
x_op = randn(3, 4, 5, scale=2.0)
op("sin", "sin", {}, torch.sin, [x_op])
op("cos", "cos", {}, torch.cos, [x_op])
op("erf", "erf", {}, torch.erf, [randn(3, 4, 5, scale=1.5)])
op("flip dims (0, 2)", "flip", {"dims": [0, 2]},
   lambda x: torch.flip(x, (0, 2)), [x_op])
op("flip dims (-1)", "flip", {"dims": [-1]},
   lambda x: torch.flip(x, (-1,)), [randn(2, 3, 4, 5)])
op("roll shifts (1, -7) dims (1, 2)", "roll",
   {"shifts": [1, -7], "dims": [1, 2]},
   lambda x: torch.roll(x, (1, -7), (1, 2)), [x_op])
op("roll flattened shift 5", "roll", {"shifts": [5], "dims": []},
   lambda x: torch.roll(x, 5), [x_op])
op("roll same dim twice", "roll", {"shifts": [2, 3], "dims": [0, 0]},
   lambda x: torch.roll(x, (2, 3), (0, 0)), [x_op])
op("cumsum dim 1", "cumsum", {"dim": 1}, lambda x: torch.cumsum(x, 1), [x_op])
op("cumsum dim -1", "cumsum", {"dim": -1}, lambda x: torch.cumsum(x, -1),
   [randn(2, 3, 2, 7)])
op("cumsum 0-d", "cumsum", {"dim": 0}, lambda x: torch.cumsum(x, 0),
   [randn()])

# ---- activations (inputs away from kinks) ------------------------------------
module("elu alpha 1", "ELU", {"alpha": 1.0}, lambda: nn.ELU(),
       [([away_from(3, 4, 5)], True)])
module("elu alpha 0.3, unbatched 4-d", "ELU", {"alpha": 0.3},
       lambda: nn.ELU(0.3), [([away_from(2, 3, 4, 5)], True)])
for approx in ["none", "tanh"]:
    module(f"gelu {approx}", "GELU", {"approximate": approx},
           lambda a=approx: nn.GELU(approximate=a),
           [([randn(3, 4, 5, scale=3.0)], True)])
module("mish", "Mish", {}, lambda: nn.Mish(),
       [([randn(3, 4, 5, scale=3.0)], True)])
module("hardtanh default", "Hardtanh", {"min_val": -1.0, "max_val": 1.0},
       lambda: nn.Hardtanh(), [([away_from(4, 5, points=(-1, 1))], True)])
module("hardtanh (-0.5, 2)", "Hardtanh", {"min_val": -0.5, "max_val": 2.0},
       lambda: nn.Hardtanh(-0.5, 2.0),
       [([away_from(4, 5, points=(-0.5, 2), scale=2.5)], True)])
module("softsign", "Softsign", {}, lambda: nn.Softsign(),
       [([away_from(3, 4, scale=3.0)], True)])
module("prelu one slope", "PReLU", {"num_parameters": 1, "init": 0.25},
       lambda: nn.PReLU(), [([away_from(2, 3, 4, 5)], True)])
module("prelu per channel, 5-d", "PReLU", {"num_parameters": 3, "init": 0.25},
       lambda: nn.PReLU(3), [([away_from(2, 3, 2, 3, 2)], True)])
module("prelu per channel, (N, C) input", "PReLU",
       {"num_parameters": 4, "init": 0.1}, lambda: nn.PReLU(4, 0.1),
       [([away_from(5, 4)], True)])

# ---- normalisation -------------------------------------------------------------
module("layernorm last axis", "LayerNorm",
       {"normalized_shape": [5], "eps": 1e-5, "elementwise_affine": True},
       lambda: nn.LayerNorm(5), [([randn(2, 3, 5, scale=2, shift=1)], True)])
module("layernorm (C, D, H, W), eps 1e-3", "LayerNorm",
       {"normalized_shape": [3, 2, 3, 4], "eps": 1e-3,
        "elementwise_affine": True},
       lambda: nn.LayerNorm([3, 2, 3, 4], eps=1e-3),
       [([randn(2, 3, 2, 3, 4, scale=3)], True)])
module("layernorm no affine, eval", "LayerNorm",
       {"normalized_shape": [4, 3], "eps": 1e-5, "elementwise_affine": False},
       lambda: nn.LayerNorm([4, 3], elementwise_affine=False),
       [([randn(5, 4, 3)], False)])

x_in = [randn(2, 3, 3, 2, 5, scale=2, shift=0.5) for _ in range(3)]
module("instancenorm3d default (no affine, no stats)", "InstanceNorm3d",
       {"num_features": 3, "eps": 1e-5, "momentum": 0.1, "affine": False,
        "track_running_stats": False},
       lambda: nn.InstanceNorm3d(3), [([x_in[0]], True), ([x_in[1]], False)])
module("instancenorm3d affine, running stats: train, train, eval",
       "InstanceNorm3d",
       {"num_features": 3, "eps": 1e-5, "momentum": 0.3, "affine": True,
        "track_running_stats": True},
       lambda: nn.InstanceNorm3d(3, momentum=0.3, affine=True,
                                 track_running_stats=True),
       [([x_in[0]], True), ([x_in[1]], True), ([x_in[2]], False)])
module("instancenorm3d unbatched, stats, eps 1e-3", "InstanceNorm3d",
       {"num_features": 3, "eps": 1e-3, "momentum": 0.1, "affine": False,
        "track_running_stats": True},
       lambda: nn.InstanceNorm3d(3, eps=1e-3, track_running_stats=True),
       [([x_in[0][0]], True), ([x_in[1][1]], False)])

x_b1 = [randn(6, 4, scale=2, shift=0.5) for _ in range(3)]
x_b1l = [randn(3, 4, 5, scale=2, shift=-0.5) for _ in range(3)]
module("batchnorm1d (N, C): train, train, eval", "BatchNorm1d",
       {"num_features": 4, "eps": 1e-5, "momentum": 0.1, "affine": True,
        "track_running_stats": True},
       lambda: nn.BatchNorm1d(4),
       [([x_b1[0]], True), ([x_b1[1]], True), ([x_b1[2]], False)])
module("batchnorm1d (N, C, L), momentum None, no affine", "BatchNorm1d",
       {"num_features": 4, "eps": 1e-3, "momentum": None, "affine": False,
        "track_running_stats": True},
       lambda: nn.BatchNorm1d(4, eps=1e-3, momentum=None, affine=False),
       [([x_b1l[0]], True), ([x_b1l[1]], True), ([x_b1l[2]], False)])
module("batchnorm1d without running stats", "BatchNorm1d",
       {"num_features": 4, "eps": 1e-5, "momentum": 0.1, "affine": True,
        "track_running_stats": False},
       lambda: nn.BatchNorm1d(4, track_running_stats=False),
       [([x_b1l[0]], True), ([x_b1l[2]], False)])


# ---- PixelShuffle3d / PixelUnshuffle3d ----------------------------------------
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


# The 3-D order restricted to one depth sub-position is PyTorch's 2-D one.
_x = torch.randn(2, 2 * 8, 3, 4, 5)
_y = pixel_shuffle3d(_x, 2)
for i in range(2):
    chans = torch.arange(2 * 8).reshape(2, 2, 4)[:, i].reshape(-1)
    ref2d = F.pixel_shuffle(_x[:, chans].permute(0, 2, 1, 3, 4)
                            .reshape(2 * 3, 8, 4, 5), 2)
    got = _y[:, :, i::2].permute(0, 2, 1, 3, 4).reshape(2 * 3, 2, 8, 10)
    assert torch.equal(got, ref2d)
assert torch.equal(pixel_unshuffle3d(_y, 2), _x)


class Shuffle(nn.Module):
    def __init__(self, r, inverse=False):
        super().__init__()
        self.r, self.inverse = r, inverse

    def forward(self, x):
        return (pixel_unshuffle3d if self.inverse else pixel_shuffle3d)(
            x, self.r)


module("pixelshuffle3d r 2", "PixelShuffle3d", {"upscale_factor": 2},
       lambda: Shuffle(2), [([randn(2, 16, 2, 3, 1)], True)])
module("pixelshuffle3d r 3, unbatched", "PixelShuffle3d",
       {"upscale_factor": 3}, lambda: Shuffle(3),
       [([randn(27, 1, 2, 2)], True)])
module("pixelunshuffle3d r 2", "PixelUnshuffle3d", {"downscale_factor": 2},
       lambda: Shuffle(2, True), [([randn(2, 3, 4, 2, 6)], True)])
module("pixelunshuffle3d r 3, 6-d (two batch axes)", "PixelUnshuffle3d",
       {"downscale_factor": 3}, lambda: Shuffle(3, True),
       [([randn(2, 2, 1, 3, 6, 3)], True)])

# ---- average pooling ------------------------------------------------------------
def avg_module(name, cfg, x, unbatched=False):
    kw = dict(kernel_size=tuple(cfg["kernel_size"]),
              stride=tuple(cfg["stride"]), padding=tuple(cfg["padding"]),
              ceil_mode=cfg["ceil_mode"],
              count_include_pad=cfg["count_include_pad"],
              divisor_override=cfg["divisor_override"])
    module(name, "AvgPool3d", cfg, lambda: nn.AvgPool3d(**kw), [([x], True)])


def avg_cfg(k, s=None, p=0, ceil=False, cip=True, div=None):
    k3 = k if isinstance(k, list) else [k] * 3
    s3 = k3 if s is None else (s if isinstance(s, list) else [s] * 3)
    p3 = p if isinstance(p, list) else [p] * 3
    return {"kernel_size": k3, "stride": s3, "padding": p3,
            "ceil_mode": ceil, "count_include_pad": cip,
            "divisor_override": div}


x_pool = randn(1, 2, 5, 6, 7)
avg_module("avgpool k2 (stride = kernel), odd sizes", avg_cfg(2), x_pool)
avg_module("avgpool k3 s2 p1 (padding at its maximum)",
           avg_cfg(3, 2, 1), x_pool)
avg_module("avgpool k3 s2 p1 count_include_pad false",
           avg_cfg(3, 2, 1, cip=False), x_pool)
avg_module("avgpool k (2,3,4) s (1,2,3) p (1,1,2) ceil_mode",
           avg_cfg([2, 3, 4], [1, 2, 3], [1, 1, 2], ceil=True), x_pool)
avg_module("avgpool k (2,3,4) s (1,2,3) p (1,1,2) ceil_mode, no pad count",
           avg_cfg([2, 3, 4], [1, 2, 3], [1, 1, 2], ceil=True, cip=False),
           x_pool)
avg_module("avgpool k2 s2 p1 ceil_mode (last window rule)",
           avg_cfg(2, 2, 1, ceil=True), randn(1, 2, 5, 4, 3))
avg_module("avgpool k3 divisor_override 5", avg_cfg(3, 2, 1, div=5), x_pool)
avg_module("avgpool k2 divisor_override -3, unbatched",
           avg_cfg(2, 1, 0, div=-3), randn(3, 4, 3, 5))

for name, size, x in [
        ("adaptive avg (5,6,7) -> (3,4,2)", [3, 4, 2], x_pool),
        ("adaptive avg global", [1, 1, 1], x_pool),
        ("adaptive avg None axes", [None, 2, None], x_pool),
        ("adaptive avg upsampling (3,2,4) -> (5,3,7)", [5, 3, 7],
         randn(2, 2, 3, 2, 4)),
        ("adaptive avg unbatched (5,6,7) -> (2,5,3)", [2, 5, 3], x_pool[0])]:
    module(name, "AdaptiveAvgPool3d", {"output_size": size},
           lambda s=size: nn.AdaptiveAvgPool3d(tuple(s)), [([x], True)])

# ---- max pooling (values on a coarse grid: many exact ties) -----------------
# Values only: the indices (return_indices) wait for voxgrad's int64 dtype;
# the input gradients show which element of each window was chosen.
def max_cfg(k, s=None, p=0, d=1, ceil=False):
    k3 = k if isinstance(k, list) else [k] * 3
    s3 = k3 if s is None else (s if isinstance(s, list) else [s] * 3)
    p3 = p if isinstance(p, list) else [p] * 3
    d3 = d if isinstance(d, list) else [d] * 3
    return {"kernel_size": k3, "stride": s3, "padding": p3, "dilation": d3,
            "ceil_mode": ceil}


def max_module(name, cfg, x):
    kw = dict(kernel_size=tuple(cfg["kernel_size"]),
              stride=tuple(cfg["stride"]), padding=tuple(cfg["padding"]),
              dilation=tuple(cfg["dilation"]), ceil_mode=cfg["ceil_mode"])
    module(name, "MaxPool3d", cfg, lambda: nn.MaxPool3d(**kw), [([x], True)])


xq = quantized(1, 2, 5, 6, 7)
max_module("maxpool k2 (stride = kernel), ties, odd sizes", max_cfg(2), xq)
max_module("maxpool k3 s2 p1 (padding at its maximum), ties",
           max_cfg(3, 2, 1), xq)
max_module("maxpool k (2,3,2) s (1,2,1) p 1 dilation (2,1,2) ceil_mode, "
           "overlapping ties", max_cfg([2, 3, 2], [1, 2, 1], 1, [2, 1, 2],
                                       ceil=True), xq)
max_module("maxpool k (3,2,4) s (2,1,3) p (1,1,2) ceil_mode",
           max_cfg([3, 2, 4], [2, 1, 3], [1, 1, 2], ceil=True),
           randn(2, 1, 5, 4, 7))
x_nan = quantized(1, 1, 4, 4, 4)
x_nan[0, 0, 0, 0, 1] = float("nan")
x_nan[0, 0, 0, 1, 0] = float("nan")
x_nan[0, 0, 2:, 2:, 2:] = float("-inf")
x_nan[0, 0, 3, 3, 3] = float("nan")
max_module("maxpool k2 with NaN (the last one wins) and -inf windows",
           max_cfg(2), x_nan)
max_module("maxpool k2 s1 unbatched, ties", max_cfg(2, 1), quantized(2, 3, 4, 5))

for name, size, x in [
        ("adaptive max (5,6,7) -> (3,4,2), ties", [3, 4, 2], xq),
        ("adaptive max global", [1, 1, 1], randn(2, 2, 3, 4, 5)),
        ("adaptive max None axes", [None, 2, None], xq),
        ("adaptive max upsampling (3,2,4) -> (5,3,7)", [5, 3, 7],
         randn(1, 2, 3, 2, 4)),
        ("adaptive max unbatched (5,6,7) -> (2,5,3)", [2, 5, 3], xq[0])]:
    module(name, "AdaptiveMaxPool3d", {"output_size": size},
           lambda s=size: nn.AdaptiveMaxPool3d(tuple(s)), [([x], True)])


def write(cases, path, seed):
    """Writes `cases` as a golden file (tools/gen_attn_golden.py reuses the
    harness above through this, for tests/golden/attention.json)."""
    doc = {"format": "voxgrad-kit-golden", "version": 1,
           "torch_version": torch.__version__, "seed": seed, "cases": cases}
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {len(cases)} cases, {os.path.getsize(path)} bytes to "
          f"{os.path.normpath(path)}", file=sys.stderr)


if __name__ == "__main__":
    write(CASES, OUT, SEED)
