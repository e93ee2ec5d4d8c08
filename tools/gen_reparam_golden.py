#!/usr/bin/python3
"""Writes tests/golden/reparam.json: PyTorch 1.13 references for
torch.nn.utils.spectral_norm and weight_norm on Linear, Conv3d and
ConvTranspose3d (issue 11). tests/nn/test_weight_reparam_golden.cpp reads it
with the kit golden harness (tools/kit_golden.py, tests/nn/kit_golden.hpp).

Run with Debian's Python, which has torch 1.13 (a pyenv `python3` may not):
    /usr/bin/python3 tools/gen_reparam_golden.py

A spectral_norm case runs several training-mode forwards (each one power
iteration step or more, updating weight_u and weight_v) and then eval-mode
ones; a step's outputs are the layer's output, the weight forward read
(weight_orig / sigma) and sigma = u . (W v) from the buffers after the step,
so sigma, u, v (the buffers), the outputs and the gradients of weight_orig,
bias and the input are all compared. The state loaded (strictly) is
PyTorch's state_dict: bias and weight_orig re-drawn, weight_u and weight_v
as spectral_norm drew them. weight_norm cases output the layer's output and
the weight; weight_g and weight_v get gradients.

voxgrad's layouts (SPEC) differ in two places, and the stored tensors are
reshaped to them (same values, same order): a conv bias is (1, C, 1, 1, 1),
and a grouped conv weight is the 6-D view (g, A/g, B, k...) of PyTorch's
(A, B, k...), which applies to weight_orig, weight_v, the weight output and
its upstream gradient. weight_g keeps PyTorch's shape in both.
"""

import os

import torch
import torch.nn as nn

import kit_golden
from kit_golden import case, randn, write

SEED = 20261202
OUT = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "tests", "golden",
    "reparam.json")

torch.manual_seed(SEED)
torch.set_num_threads(1)


def layer(cfg):
    kind = cfg["layer"]
    if kind == "Linear":
        return nn.Linear(cfg["in"], cfg["out"], bias=cfg["bias"])
    cls = nn.Conv3d if kind == "Conv3d" else nn.ConvTranspose3d
    return cls(cfg["in"], cfg["out"], tuple(cfg["kernel_size"]),
               stride=tuple(cfg["stride"]), padding=tuple(cfg["padding"]),
               groups=cfg["groups"], bias=cfg["bias"])


def linear_cfg(i, o, bias=True):
    return {"layer": "Linear", "in": i, "out": o, "bias": bias}


def conv_cfg(kind, i, o, k, s=1, p=0, groups=1, bias=True):
    three = lambda v: v if isinstance(v, list) else [v] * 3  # noqa: E731
    return {"layer": kind, "in": i, "out": o, "kernel_size": three(k),
            "stride": three(s), "padding": three(p), "groups": groups,
            "bias": bias}


def to_spec_layout(rec, cfg, weight_names, weight_output):
    """Reshapes the case just recorded to voxgrad's layouts (see above)."""
    if cfg["layer"] == "Linear":
        return
    g = cfg["groups"]

    def conv_shape(shape, name):
        if name == "bias":
            return [1, shape[0], 1, 1, 1]
        if g > 1 and name in weight_names and len(shape) == 5:
            return [g, shape[0] // g] + shape[1:]
        return shape

    for n, t in rec["params"].items():
        t["shape"] = conv_shape(t["shape"], n)
    for results in rec["results"].values():
        for step in results:
            for n, t in step["grads"].items():
                t["shape"] = conv_shape(t["shape"], n)
            if weight_output is not None:
                out = step["outputs"][weight_output]
                out["shape"] = conv_shape(out["shape"], weight_names[0])
    if weight_output is not None:
        for step in rec["steps"]:
            gy = step["gy"][weight_output]
            gy["shape"] = conv_shape(gy["shape"], weight_names[0])


def matrix(w, dim):
    """PyTorch's SpectralNorm.reshape_weight_to_matrix."""
    if dim != 0:
        w = w.permute(dim, *[d for d in range(w.dim()) if d != dim])
    return w.reshape(w.size(0), -1)


def spectral(name, cfg, x_shape, training, n_power_iterations=1, eps=1e-12,
             dim=None):
    torch_dim = dim
    if torch_dim is None:
        torch_dim = 1 if cfg["layer"] == "ConvTranspose3d" else 0

    def make():
        m = nn.utils.spectral_norm(
            layer(cfg), n_power_iterations=n_power_iterations, eps=eps,
            dim=dim)

        def fn(x):
            y = m(x)
            sigma = torch.dot(m.weight_u,
                              torch.mv(matrix(m.weight_orig, torch_dim),
                                       m.weight_v))
            return y, m.weight, sigma
        return fn, m

    config = dict(cfg, reparam="spectral_norm",
                  n_power_iterations=n_power_iterations, eps=eps, dim=dim)
    case(name, "spectral_norm", config, make,
         [([randn(*x_shape)], t) for t in training])
    to_spec_layout(kit_golden.CASES[-1], cfg, ["weight_orig", "weight"], 1)


def weightnorm(name, cfg, x_shape, training, dim=0):
    def make():
        m = nn.utils.weight_norm(layer(cfg), dim=dim)
        return (lambda x: (m(x), m.weight)), m

    config = dict(cfg, reparam="weight_norm", dim=dim)
    case(name, "weight_norm", config, make,
         [([randn(*x_shape)], t) for t in training])
    to_spec_layout(kit_golden.CASES[-1], cfg, ["weight_v", "weight"], 1)


# ---- spectral_norm -------------------------------------------------------------
spectral("spectral_norm Linear(5, 4): 3 training steps, then 2 eval",
         linear_cfg(5, 4), (3, 5), [True, True, True, False, False])
spectral("spectral_norm Linear(4, 6) n_power_iterations 3 eps 1e-4 dim 1",
         linear_cfg(4, 6), (2, 4), [True, True, False], n_power_iterations=3,
         eps=1e-4, dim=1)
spectral("spectral_norm Linear(3, 3) no bias, eval only (u, v as drawn)",
         linear_cfg(3, 3, bias=False), (2, 3), [False, False])
spectral("spectral_norm Linear(6, 2) unbatched input",
         linear_cfg(6, 2), (6,), [True, True, False])
spectral("spectral_norm Conv3d(2, 3, k3 s2 p1): 2 training steps, eval",
         conv_cfg("Conv3d", 2, 3, 3, 2, 1), (2, 2, 5, 4, 5),
         [True, True, False])
spectral("spectral_norm Conv3d(4, 6, k(2,3,1), groups 2), dim 2",
         conv_cfg("Conv3d", 4, 6, [2, 3, 1], groups=2), (1, 4, 3, 4, 2),
         [True, True, False], dim=2)
spectral("spectral_norm ConvTranspose3d(3, 2, k(2,3,2) s2): default dim 1",
         conv_cfg("ConvTranspose3d", 3, 2, [2, 3, 2], 2), (2, 3, 2, 3, 2),
         [True, True, False])
spectral("spectral_norm ConvTranspose3d(2, 4, k2, groups 2) n 2, dim 0",
         conv_cfg("ConvTranspose3d", 2, 4, 2, groups=2), (1, 2, 2, 3, 2),
         [True, False], n_power_iterations=2, dim=0)

# ---- weight_norm ---------------------------------------------------------------
weightnorm("weight_norm Linear(5, 4) dim 0", linear_cfg(5, 4), (3, 5),
           [True, False])
weightnorm("weight_norm Linear(5, 4) dim None (whole tensor)",
           linear_cfg(5, 4), (3, 5), [True], dim=None)
weightnorm("weight_norm Linear(4, 3) dim 1", linear_cfg(4, 3), (2, 4), [True],
           dim=1)
weightnorm("weight_norm Conv3d(2, 3, k3 p1) dim 0",
           conv_cfg("Conv3d", 2, 3, 3, 1, 1), (2, 2, 3, 4, 3), [True, False])
weightnorm("weight_norm Conv3d(2, 3, k(2,3,2)) dim 2",
           conv_cfg("Conv3d", 2, 3, [2, 3, 2]), (1, 2, 3, 4, 3), [True],
           dim=2)
weightnorm("weight_norm Conv3d(2, 2, k2) dim 4 (the last)",
           conv_cfg("Conv3d", 2, 2, 2), (1, 2, 3, 3, 3), [True], dim=4)
weightnorm("weight_norm ConvTranspose3d(3, 2, k2 s2) dim 0",
           conv_cfg("ConvTranspose3d", 3, 2, 2, 2), (2, 3, 2, 2, 2), [True])
weightnorm("weight_norm ConvTranspose3d(4, 2, k2, groups 2) dim 1",
           conv_cfg("ConvTranspose3d", 4, 2, 2, groups=2), (1, 4, 2, 3, 2),
           [True], dim=1)

write(OUT, SEED)
