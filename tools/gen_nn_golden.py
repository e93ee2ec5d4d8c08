#!/usr/bin/python3
"""Writes tests/golden/nn_layers.json: PyTorch 1.13 references for the nn/
layers and losses (tests/nn/test_nn_golden.cpp reads it with the kit's
harness, tests/nn/kit_golden.hpp).

Run with Debian's Python, which has torch 1.13 (a pyenv `python3` may not):
    /usr/bin/python3 tools/gen_nn_golden.py

Everything is float64 and seeded, so the file is reproducible. Each case
names a voxgrad module and its options, the parameters and buffers to load
(by state_dict name), and one or more steps; a step gives the inputs, the
mode (train/eval), the output y, an upstream gradient gy, the gradients of
sum(y * gy) for every input ("input0", ...) and parameter, and the buffers
after the step. Dropout cases hold semantics only (RNG streams differ).
"""

import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

# A tensor as JSON, from the kit's harness (tools/kit_golden.py): float64
# values exactly, as this file has always stored them.
from kit_golden import T

SEED = 1234
OUT = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "tests", "golden",
    "nn_layers.json")

torch.manual_seed(SEED)
torch.set_default_dtype(torch.float64)


def away_from_zero(*shape, gap=0.1):
    u = torch.rand(*shape) * 2 - 1
    return torch.sign(u) * gap + u


def run_steps(module, steps):
    """steps: list of (inputs, training). Returns the step records."""
    out = []
    for inputs, training in steps:
        module.train(training)
        inputs = [x.clone().requires_grad_(True) for x in inputs]
        for p in module.parameters():
            p.grad = None
        y = module(*inputs)
        gy = torch.randn(y.shape)
        (y * gy).sum().backward()
        grads = {f"input{i}": T(x.grad) for i, x in enumerate(inputs)}
        for n, p in module.named_parameters():
            grads[n] = T(p.grad)
        out.append({
            "training": training,
            "inputs": [T(x) for x in inputs],
            "y": T(y), "gy": T(gy), "grads": grads,
            "buffers": {n: T(b.to(torch.float64))
                        for n, b in module.named_buffers()},
        })
    return out


CASES = []


def case(name, module_name, config, module, steps, randomize=True):
    """Registers a case; parameters are re-drawn (not the default init) so
    that every entry of weight and bias matters."""
    if randomize:
        with torch.no_grad():
            for p in module.parameters():
                p.copy_(torch.randn(p.shape) * 0.5 + (1.0 if p.dim() == 1 and
                                                      "norm" in name else 0))
    params = {n: T(t.to(torch.float64)) for n, t in module.state_dict().items()}
    CASES.append({"name": name, "module": module_name, "config": config,
                  "params": params, "steps": run_steps(module, steps)})


# ---- Linear, Sequential, Flatten, Unflatten -------------------------------
case("linear 4->5 bias", "Linear", {"in": 4, "out": 5, "bias": True},
     nn.Linear(4, 5), [([torch.randn(3, 4)], True)])
case("linear 4->5 no bias, 3-d input", "Linear",
     {"in": 4, "out": 5, "bias": False}, nn.Linear(4, 5, bias=False),
     [([torch.randn(2, 3, 4)], True)])
case("sequential linear relu linear", "Sequential", {},
     nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 3)),
     [([torch.randn(5, 4)], True)])
case("flatten default", "Flatten", {"start_dim": 1, "end_dim": -1},
     nn.Flatten(), [([torch.randn(2, 3, 2, 2)], True)])
case("unflatten", "Unflatten", {"dim": 1, "sizes": [3, -1]},
     nn.Unflatten(1, (3, 4)), [([torch.randn(2, 12)], True)])

# ---- activations (inputs away from kinks) ---------------------------------
case("relu", "ReLU", {}, nn.ReLU(), [([away_from_zero(3, 4)], True)])
case("leaky_relu 0.2", "LeakyReLU", {"negative_slope": 0.2},
     nn.LeakyReLU(0.2), [([away_from_zero(3, 4)], True)])
case("silu", "SiLU", {}, nn.SiLU(), [([torch.randn(3, 4) * 3], True)])
case("sigmoid", "Sigmoid", {}, nn.Sigmoid(), [([torch.randn(3, 4) * 3], True)])
case("tanh", "Tanh", {}, nn.Tanh(), [([torch.randn(3, 4) * 2], True)])
case("softplus default", "Softplus", {"beta": 1.0, "threshold": 20.0},
     nn.Softplus(), [([torch.tensor([[-30.0, -3, 0.5, 4], [19.0, 21, 25, -1]])],
                      True)])
case("softplus beta 2 threshold 1", "Softplus", {"beta": 2.0, "threshold": 1.0},
     nn.Softplus(beta=2.0, threshold=1.0),
     [([torch.tensor([[-2.0, -0.3, 0.1, 0.35], [0.65, 1.5, 3.0, -1.0]])],
       True)])

# ---- BatchNorm3d: two training steps then eval ----------------------------
x_bn = [torch.randn(2, 3, 2, 3, 2) * 2 + 0.5 for _ in range(3)]
case("batchnorm3d momentum 0.1", "BatchNorm3d",
     {"num_features": 3, "eps": 1e-5, "momentum": 0.1, "affine": True,
      "track_running_stats": True},
     nn.BatchNorm3d(3),
     [([x_bn[0]], True), ([x_bn[1]], True), ([x_bn[2]], False)])
case("batchnorm3d momentum None (cumulative), no affine", "BatchNorm3d",
     {"num_features": 3, "eps": 1e-3, "momentum": None, "affine": False,
      "track_running_stats": True},
     nn.BatchNorm3d(3, eps=1e-3, momentum=None, affine=False),
     [([x_bn[0]], True), ([x_bn[1]], True), ([x_bn[2]], False)])
case("batchnorm3d without running stats", "BatchNorm3d",
     {"num_features": 3, "eps": 1e-5, "momentum": 0.3, "affine": True,
      "track_running_stats": False},
     nn.BatchNorm3d(3, momentum=0.3, track_running_stats=False),
     [([x_bn[0]], True), ([x_bn[2]], False)])

# ---- GroupNorm --------------------------------------------------------------
case("groupnorm 3 groups of 2", "GroupNorm",
     {"num_groups": 3, "num_channels": 6, "eps": 1e-5, "affine": True},
     nn.GroupNorm(3, 6), [([torch.randn(2, 6, 2, 2, 3) * 3 - 1], True)])
case("groupnorm 1 group, no affine, eval", "GroupNorm",
     {"num_groups": 1, "num_channels": 4, "eps": 1e-3, "affine": False},
     nn.GroupNorm(1, 4, eps=1e-3, affine=False),
     [([torch.randn(2, 4, 3, 2, 2)], False)])
case("groupnorm per channel (instance norm), 3-d input", "GroupNorm",
     {"num_groups": 4, "num_channels": 4, "eps": 1e-5, "affine": True},
     nn.GroupNorm(4, 4), [([torch.randn(3, 4, 5)], True)])

# ---- Upsample ---------------------------------------------------------------
def use_adjoint_gradient(c, up):
    """Replaces PyTorch's input gradient by the exact adjoint of its forward,
    <f(e_i), gy> for every basis vector e_i (f is linear). They agree except
    where PyTorch 1.13 disagrees with itself: for nearest, its backward maps
    o -> o when out == in even if a scale_factor != 1 produced that size,
    while its forward (contiguous NCDHW) uses floor(o / scale)."""
    step = c["steps"][0]
    x = torch.tensor(step["inputs"][0]["data"]).reshape(
        step["inputs"][0]["shape"])
    gy = torch.tensor(step["gy"]["data"]).reshape(step["gy"]["shape"])
    gx = torch.zeros(x.numel())
    with torch.no_grad():
        for i in range(x.numel()):
            e = torch.zeros(x.numel())
            e[i] = 1
            gx[i] = (up(e.reshape(x.shape)) * gy).sum()
    autograd_gx = torch.tensor(step["grads"]["input0"]["data"])
    if not torch.allclose(gx, autograd_gx, rtol=1e-12, atol=1e-12):
        assert up.mode == "nearest", c["name"]
        c["note"] = ("input0 gradient is the adjoint of PyTorch's forward; "
                     "torch 1.13's upsample_nearest3d_backward differs here")
        step["grads"]["input0"] = T(gx.reshape(x.shape))


x_up = torch.randn(1, 2, 3, 4, 5)
for mode in ["nearest", "trilinear"]:
    aligns = [None] if mode == "nearest" else [False, True]
    for ac in aligns:
        variants = [
            ("scale 2", {"scale_factor": [2.0]}, x_up[:, :, :2, :3, :2]),
            ("scale (1.7, 2.5, 0.6)", {"scale_factor": [1.7, 2.5, 0.6]}, x_up),
            ("scale (1.1, 1.5, 0.45): D unchanged",
             {"scale_factor": [1.1, 1.5, 0.45]}, x_up),
            ("size (5, 3, 7)", {"size": [5, 3, 7]}, x_up),
        ]
        for label, cfg, x in variants:
            config = dict(cfg, mode=mode, align_corners=ac)
            kw = {"mode": mode, "align_corners": ac}
            if "size" in cfg:
                kw["size"] = tuple(cfg["size"])
            else:
                s = cfg["scale_factor"]
                kw["scale_factor"] = s[0] if len(s) == 1 else tuple(s)
            name = f"upsample {mode} {label}" + (
                "" if ac is None else f" align_corners={ac}")
            up = nn.Upsample(**kw)
            case(name, "Upsample", config, up, [([x.contiguous()], True)])
            use_adjoint_gradient(CASES[-1], up)

# ---- losses, every reduction -----------------------------------------------
def loss_cases(name, module_name, make, inputs, extra=None):
    for red in ["none", "mean", "sum"]:
        config = dict(extra or {}, reduction=red)
        case(f"{name} {red}", module_name, config, make(red),
             [(inputs, True)], randomize=False)


loss_cases("mse", "MSELoss", lambda r: nn.MSELoss(reduction=r),
           [torch.randn(3, 4), torch.randn(3, 4)])
loss_cases("l1", "L1Loss", lambda r: nn.L1Loss(reduction=r),
           [torch.randn(3, 4), torch.randn(3, 4)])
p_bce = torch.sigmoid(torch.randn(3, 4) * 2)
t_bce = torch.rand(3, 4)
loss_cases("bce", "BCELoss", lambda r: nn.BCELoss(reduction=r), [p_bce, t_bce])
w_bce = torch.rand(4) + 0.5
loss_cases("bce weighted", "BCELoss",
           lambda r: nn.BCELoss(weight=w_bce, reduction=r), [p_bce, t_bce],
           {"weight": T(w_bce)})
logits = torch.cat([torch.randn(2, 4) * 3,
                    torch.tensor([[-30.0, 30.0, -45.0, 45.0]])])
t_logits = torch.rand(3, 4)
loss_cases("bce_with_logits", "BCEWithLogitsLoss",
           lambda r: nn.BCEWithLogitsLoss(reduction=r), [logits, t_logits])
pos_w = torch.rand(4) * 3 + 0.2
loss_cases("bce_with_logits weight pos_weight", "BCEWithLogitsLoss",
           lambda r: nn.BCEWithLogitsLoss(weight=w_bce.reshape(1, 4),
                                          pos_weight=pos_w, reduction=r),
           [logits, t_logits],
           {"weight": T(w_bce.reshape(1, 4)), "pos_weight": T(pos_w)})


class GaussianKL(nn.Module):
    """The VAE term, cross-checked against torch.distributions below."""

    def __init__(self, reduction):
        super().__init__()
        self.reduction = reduction

    def forward(self, mu, logvar):
        kl = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp())
        ref = torch.distributions.kl_divergence(
            torch.distributions.Normal(mu, (0.5 * logvar).exp()),
            torch.distributions.Normal(torch.zeros_like(mu),
                                       torch.ones_like(mu)))
        assert torch.allclose(kl, ref, rtol=1e-12, atol=1e-12)
        if self.reduction == "mean":
            return kl.mean()
        if self.reduction == "sum":
            return kl.sum()
        return kl


loss_cases("kl_divergence_gaussian", "GaussianKLLoss", GaussianKL,
           [torch.randn(3, 4), torch.randn(3, 4) * 0.5])

# ---- Dropout: semantics only -------------------------------------------------
dropout = []
for name, make, shape in [("Dropout", nn.Dropout, (4, 5, 6)),
                          ("Dropout3d", nn.Dropout3d, (4, 6, 2, 3, 2))]:
    p = 0.3
    m = make(p)
    x = torch.rand(*shape) + 1
    y = m(x)
    kept = y != 0
    scale = (y[kept] / x[kept]).unique()
    assert torch.allclose(scale, torch.tensor(1 / (1 - p)))
    if name == "Dropout3d":
        per_channel = kept.reshape(shape[0], shape[1], -1)
        assert bool((per_channel.all(-1) | ~per_channel.any(-1)).all())
    m.eval()
    dropout.append({"module": name, "p": p, "shape": list(shape),
                    "kept_scale": float(scale[0]),
                    "eval_is_identity": bool(torch.equal(m(x), x))})

doc = {"format": "voxgrad-nn-golden", "version": 1,
       "torch_version": torch.__version__, "seed": SEED, "dtype": "float64",
       "cases": CASES, "dropout": dropout}
os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, "w") as f:
    json.dump(doc, f, separators=(",", ":"))
    f.write("\n")
print(f"wrote {len(CASES)} cases, {os.path.getsize(OUT)} bytes to "
      f"{os.path.normpath(OUT)}", file=sys.stderr)
