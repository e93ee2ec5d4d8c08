#!/usr/bin/env python3
"""Generate (and self-check) voxgrad's public Conv3d / ConvTranspose3d conformance cases.

Usage (Debian's Python, which has torch + numpy):
    /usr/bin/python3 tools/gen_conformance.py --out tests/conformance
    /usr/bin/python3 tools/gen_conformance.py --verify tests/conformance

Format: exactly SPEC.md §2.  Every case is a folder with `case.json` and little-endian float32
C-order `.npy` files: x, weight, [bias], y, gy, gx, gweight, [gbias] — gradients of sum(y * gy).
Weights are stored in the SPEC layouts: 5-D PyTorch layout for groups == 1, and 6-D
`(g, C_out/g, C_in/g, k...)` (conv3d) / `(g, C_in/g, C_out/g, k...)` (conv_transpose3d) for
groups > 1 (the same memory as PyTorch's 5-D tensor); bias and gbias are `(1, C_out, 1, 1, 1)`.
Unbatched cases ("batched": false) have 4-D x / y / gy / gx.

References: every input (x, weight, bias, gy) is drawn U(-1, 1) in float32 from a generator
seeded with crc32(case path), then cast to float64; forward and autograd backward run in float64
with torch.nn.functional.conv3d / conv_transpose3d on one thread; the outputs are rounded to
float32. Rerunning reproduces byte-identical files.

Extensions beyond SPEC §2 (documented in tests/conformance/README.md):
  * "padding" may be the string "same" or "valid" (conv3d only) instead of a triple.
  * conv_transpose3d cases may carry "output_size": [D, H, W], the size requested from the
    forward; "output_padding" then holds the value derived from it, so y's shape is the same
    whether a runner honours output_size or not.  expect_error cases may carry an output_size
    outside the reachable range.
  * expect_error cases carry "rule" (which SPEC §1 rule they break) and "spec_only": true when
    PyTorch itself accepts the case and only SPEC's stricter rule makes it an error.
SPEC §2's optional "padding_mode" (absent: "zeros") is written only where a case sets it (the
padding_modes/ folder and some errors/ cases). Conv3d references with a mode come from
F.pad + F.conv3d, exactly what nn.Conv3d(padding_mode=m) runs; PyTorch has no ConvTranspose3d
with a padding mode, so those references are its definition (SPEC §1): the vector-Jacobian
product of the padded Conv3d(out -> in) with the same weight, plus the bias, differentiated
again for the gradients.

Tolerance rule (one atol/rtol per case, applied to y, gx, gweight and gbias):
    R    = the longest reduction any of the four outputs performs, i.e. the maximum of
           (C_in/g)*prod(k) + 1      (terms per y element, +1 for the bias),
           (C_out/g)*prod(k)         (terms per gx element),
           N*prod(spatial of the conv3d-side "output")   (terms per gweight element:
                                      y's spatial for conv3d, x's spatial for conv_transpose3d),
           N*prod(y spatial)         (terms per gbias element)
    atol = 1e-5 * sqrt(R) + 4e-8 * R
    rtol = 1e-5
  All inputs are O(1) (U(-1, 1)), so a sum of R products has magnitude ~sqrt(R)/3. The sqrt term
  covers blocked / pairwise / GEMM-style float32 summation and the reference's own float32
  rounding; the linear term (~5x the expected max error of a plain left-to-right float32
  accumulation, whose error grows ~u*R/7 for these inputs) covers the worst *ordinary* order.
  A wrong tap changes some element by ~|x*w| ~ 0.1-1, i.e. 100x-10000x these tolerances.
  `--verify` checks both directions (see verify()).
"""

import argparse
import json
import math
import os
import shutil
import sys
import zlib

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.set_num_threads(1)

SUBDIRS = ("conv3d", "conv_transpose3d", "errors", "random", "padding_modes")
MODES = ("zeros", "reflect", "replicate", "circular")
ATOL_SQRT = 1e-5
ATOL_LIN = 4e-8
RTOL = 1e-5
PERTURB = 0.02          # size of the single-element perturbation used by --verify


# ----------------------------------------------------------------------------------------------
# helpers

def trip(v):
    if isinstance(v, str):
        return v
    if isinstance(v, (int, np.integer)):
        return [int(v)] * 3
    v = [int(a) for a in v]
    assert len(v) == 3
    return v


def tstr(v):
    v = trip(v)
    return str(v[0]) if v[0] == v[1] == v[2] else "x".join(str(a) for a in v)


def prod(v):
    p = 1
    for a in v:
        p *= int(a)
    return p


def spec_weight_shape(op, cin, cout, k, g):
    k = trip(k)
    if op == "conv3d":
        return [cout, cin] + k if g == 1 else [g, cout // g, cin // g] + k
    return [cin, cout] + k if g == 1 else [g, cin // g, cout // g] + k


def torch_weight_shape(op, cin, cout, k, g):
    k = trip(k)
    return [cout, cin // g] + k if op == "conv3d" else [cin, cout // g] + k


def min_transposed_size(d, k, s, p, dil):
    return (d - 1) * s - 2 * p + dil * (k - 1) + 1


def out_spatial(c, spatial):
    """Output spatial size of a (valid-parameter) case dict per SPEC §1."""
    k, s, dil = c["kernel_size"], c["stride"], c["dilation"]
    if c["op"] == "conv3d":
        pad = c["padding"]
        if pad == "same":
            return list(spatial)
        if pad == "valid":
            pad = [0, 0, 0]
        return [(spatial[i] + 2 * pad[i] - dil[i] * (k[i] - 1) - 1) // s[i] + 1 for i in range(3)]
    pad, op = c["padding"], c["output_padding"]
    return [min_transposed_size(spatial[i], k[i], s[i], pad[i], dil[i]) + op[i] for i in range(3)]


def mode_of(c):
    return c.get("padding_mode", "zeros")


def conv_pads(c, spatial):
    """[(lo, hi)] per axis (D, H, W) that a Conv3d pads its input with (nn.Conv3d's
    _reversed_padding_repeated_twice: "same" puts the odd element after the data)."""
    pad, k, dil = c["padding"], trip(c["kernel_size"]), trip(c["dilation"])
    if pad == "valid":
        return [(0, 0)] * 3
    if pad == "same":
        return [(dil[i] * (k[i] - 1) // 2, dil[i] * (k[i] - 1) - dil[i] * (k[i] - 1) // 2)
                for i in range(3)]
    return [(p, p) for p in trip(pad)]


def padded_side(c, spatial):
    """(size, [(lo, hi)]) of the tensor the padding mode pads: a Conv3d's input, a
    ConvTranspose3d's output."""
    if c["op"] == "conv3d":
        return list(spatial), conv_pads(c, spatial)
    return out_spatial(c, spatial), [(p, p) for p in trip(c["padding"])]


def mode_source(q, n, lo, mode):
    r = q - lo
    if 0 <= r < n:
        return r
    if mode == "reflect":
        return -r if r < 0 else 2 * (n - 1) - r
    if mode == "replicate":
        return 0 if r < 0 else n - 1
    if mode == "circular":
        return r + n if r < 0 else r - n
    return None


def fold_multiplicity(c, spatial):
    """The most padded positions any one element is copied to (1 for zeros): the transposed
    direction sums that many times more terms per element."""
    mode = mode_of(c)
    if mode == "zeros":
        return 1
    size, lohi = padded_side(c, spatial)
    m = 1
    for n, (lo, hi) in zip(size, lohi):
        count = [0] * n
        for q in range(lo + n + hi):
            count[mode_source(q, n, lo, mode)] += 1
        m *= max(count)
    return m


def reduction_length(c, n, spatial):
    k = prod(c["kernel_size"])
    g = c["groups"]
    out = out_spatial(c, spatial)
    conv_side = out if c["op"] == "conv3d" else spatial
    fold = fold_multiplicity(c, spatial)
    return max(((c["in_channels"] // g) * k + 1) * fold,
               (c["out_channels"] // g) * k * fold,
               n * prod(conv_side),
               n * prod(out), 1)


def tolerance(r):
    atol = ATOL_SQRT * math.sqrt(r) + ATOL_LIN * r
    return float(f"{atol:.3g}"), RTOL


def case_name(c, n, spatial):
    op = "conv" if c["op"] == "conv3d" else "convT"
    mb = f"mb{n}" if c["batched"] else "unbatched_"
    pad = c["padding"]
    p = f"p{pad}" if isinstance(pad, str) else f"p{tstr(pad)}"
    name = (f"{op}_{mb}ic{c['in_channels']}oc{c['out_channels']}_"
            f"id{spatial[0]}ih{spatial[1]}iw{spatial[2]}_k{tstr(c['kernel_size'])}_"
            f"s{tstr(c['stride'])}_{p}_")
    if c["op"] == "conv_transpose3d":
        name += f"op{tstr(c['output_padding'])}_"
    name += f"dil{tstr(c['dilation'])}_g{c['groups']}_{'bias' if c['bias'] else 'nobias'}"
    if "output_size" in c:
        name += f"_os{tstr(c['output_size'])}"
    if "padding_mode" in c:
        name += f"_{c['padding_mode']}"
    return name


def seed_of(path):
    return zlib.crc32(path.encode())


def uniform(rng, shape):
    return rng.uniform(-1.0, 1.0, size=shape).astype(np.float32)


def save(path, arr):
    arr = np.ascontiguousarray(np.asarray(arr, dtype="<f4"))
    np.save(path, arr, allow_pickle=False)


def load(path):
    arr = np.load(path, allow_pickle=False)
    assert arr.dtype == np.dtype("<f4"), (path, arr.dtype)
    return arr


def write_json(path, obj):
    body = ",\n".join(f" {json.dumps(k)}: {json.dumps(v)}" for k, v in obj.items())
    with open(path, "w") as f:
        f.write("{\n" + body + "\n}\n")


# ----------------------------------------------------------------------------------------------
# reference computation

def check_mode(c):
    mode = mode_of(c)
    if not isinstance(mode, str) or mode not in MODES:
        raise ValueError(f"padding_mode must be one of {MODES}, got {mode!r}")
    return mode


def mode_pad(x, lohi, mode):
    """F.pad of the spatial axes in a conv padding mode (torch 1.13's circular needs a batch
    axis)."""
    if x.dim() == 4:
        return mode_pad(x.unsqueeze(0), lohi, mode).squeeze(0)
    return F.pad(x, [lohi[2][0], lohi[2][1], lohi[1][0], lohi[1][1], lohi[0][0], lohi[0][1]],
                 mode=mode)


def conv3d_m(c, x, w, b):
    """Conv3d with the case's padding mode: F.pad, then F.conv3d with padding 0, as
    nn.Conv3d(padding_mode=m) does."""
    mode = check_mode(c)
    if mode == "zeros":
        return F.conv3d(x, w, b, stride=c["stride"], padding=c["padding"] if isinstance(
            c["padding"], str) else tuple(c["padding"]), dilation=c["dilation"],
            groups=c["groups"])
    xp = mode_pad(x, conv_pads(c, list(x.shape[-3:])), mode)
    return F.conv3d(xp, w, b, stride=c["stride"], padding=0, dilation=c["dilation"],
                    groups=c["groups"])


def conv_transpose3d_m(c, u, w, b):
    """ConvTranspose3d with a padding mode, by its definition (SPEC §1): the vector-Jacobian
    product of the padded Conv3d(out -> in) with the same weight (create_graph, so it can be
    differentiated again), plus the bias."""
    with torch.enable_grad():  # also under no_grad: the definition is a gradient
        return _conv_transpose3d_m(c, u, w, b)


def _conv_transpose3d_m(c, u, w, b):
    mode = check_mode(c)
    batched = u.dim() == 5
    ub = u if batched else u.unsqueeze(0)
    out = out_spatial(c, list(ub.shape[-3:]))
    t = torch.zeros([ub.shape[0], c["out_channels"]] + out, dtype=ub.dtype, requires_grad=True)
    adj = {"op": "conv3d", "padding": c["padding"], "kernel_size": c["kernel_size"],
           "stride": c["stride"], "dilation": c["dilation"], "groups": c["groups"],
           "padding_mode": mode}
    y = conv3d_m(adj, t, w, None)
    # With output_padding >= stride (possible below the dilation) the Conv3d output is longer
    # than u: the op adjoins that conv cut to u's size, i.e. u padded with zeros at the end.
    extra = [y.shape[2 + i] - ub.shape[2 + i] for i in range(3)]
    ug = F.pad(ub, [0, extra[2], 0, extra[1], 0, extra[0]]) if any(extra) else ub
    (z,) = torch.autograd.grad(y, t, ug, create_graph=True)
    if b is not None:
        z = z + b.reshape(1, -1, 1, 1, 1)
    return z if batched else z.squeeze(0)


def forward(c, x, w, b):
    """x, w (PyTorch 5-D), b (1-D or None) float64 torch tensors -> y."""
    if c["op"] == "conv3d":
        return conv3d_m(c, x, w, b)
    if check_mode(c) != "zeros":
        return conv_transpose3d_m(c, x, w, b)
    return F.conv_transpose3d(x, w, b, stride=c["stride"], padding=c["padding"],
                              output_padding=c["output_padding"], groups=c["groups"],
                              dilation=c["dilation"])


def module_forward(c, x, w, b):
    """The same op through torch.nn modules (and output_size when the case has one)."""
    g = c["groups"]
    if c["op"] == "conv_transpose3d" and mode_of(c) != "zeros":
        return forward(c, x, w, b)  # PyTorch has no such module: the definition
    if c["op"] == "conv3d":
        m = nn.Conv3d(c["in_channels"], c["out_channels"], c["kernel_size"], c["stride"],
                      c["padding"], c["dilation"], g, c["bias"],
                      padding_mode=mode_of(c)).double()
        if x.dim() == 4:  # torch 1.13's circular padding needs the batch axis
            with torch.no_grad():
                m.weight.copy_(w)
                if b is not None:
                    m.bias.copy_(b)
            return m(x.unsqueeze(0)).squeeze(0)
    else:
        osz = c.get("output_size")
        m = nn.ConvTranspose3d(c["in_channels"], c["out_channels"], c["kernel_size"],
                               c["stride"], c["padding"],
                               [0, 0, 0] if osz else c["output_padding"], g, c["bias"],
                               c["dilation"]).double()
    with torch.no_grad():
        m.weight.copy_(w)
        if b is not None:
            m.bias.copy_(b)
    if c["op"] == "conv_transpose3d" and c.get("output_size"):
        return m(x, output_size=c["output_size"])
    return m(x)


def reference(c, x32, w32t, b32, gy32):
    """float64 references from float32 inputs; returns float64 numpy y, gx, gw (torch shape), gb."""
    x = torch.from_numpy(x32).double().requires_grad_()
    w = torch.from_numpy(w32t).double().requires_grad_()
    b = torch.from_numpy(b32).double().requires_grad_() if b32 is not None else None
    y = forward(c, x, w, b)
    gy = torch.from_numpy(gy32).double()
    assert tuple(y.shape) == tuple(gy.shape), (y.shape, gy.shape)
    inputs = [x, w] + ([b] if b is not None else [])
    grads = torch.autograd.grad((y * gy).sum(), inputs, allow_unused=True)
    grads = [torch.zeros_like(t) if gr is None else gr for t, gr in zip(inputs, grads)]
    out = [y.detach().numpy(), grads[0].numpy(), grads[1].numpy()]
    out.append(grads[2].numpy() if b is not None else None)
    return out


# ----------------------------------------------------------------------------------------------
# valid cases

def make_valid(op, cin, cout, k, s=1, p=0, opad=0, dil=1, g=1, bias=True, n=1, spatial=(4, 4, 4),
               batched=True, output_size=None, mode=None):
    c = {"op": op, "in_channels": cin, "out_channels": cout, "kernel_size": trip(k),
         "stride": trip(s), "padding": trip(p), "output_padding": trip(opad),
         "dilation": trip(dil), "groups": g, "bias": bool(bias), "batched": bool(batched)}
    if mode is not None:
        c["padding_mode"] = mode
    spatial = trip(spatial)
    if op == "conv3d":
        assert c["output_padding"] == [0, 0, 0]
    if output_size is not None:
        assert op == "conv_transpose3d"
        output_size = trip(output_size)
        mins = [min_transposed_size(spatial[i], c["kernel_size"][i], c["stride"][i],
                                    c["padding"][i], c["dilation"][i]) for i in range(3)]
        c["output_padding"] = [output_size[i] - mins[i] for i in range(3)]
        c["output_size"] = output_size
    if not batched:
        n = 1
    return (c, n, spatial)


def check_valid_params(c, n, spatial):
    assert not spec_violations(c, n, spatial, None), (c, spec_violations(c, n, spatial, None))


def write_valid(root, sub, item, names):
    c, n, spatial = item
    check_valid_params(c, n, spatial)
    name = case_name(c, n, spatial)
    base, i = name, 2
    while name in names:
        name = f"{base}_v{i}"
        i += 1
    names.add(name)
    rel = f"{sub}/{name}"
    rng = np.random.default_rng(seed_of(rel))
    g = c["groups"]
    xshape = ([n] if c["batched"] else []) + [c["in_channels"]] + list(spatial)
    x32 = uniform(rng, xshape)
    wt_shape = torch_weight_shape(c["op"], c["in_channels"], c["out_channels"],
                                  c["kernel_size"], g)
    w32t = uniform(rng, wt_shape)
    b32 = uniform(rng, [c["out_channels"]]) if c["bias"] else None
    yshape = ([n] if c["batched"] else []) + [c["out_channels"]] + out_spatial(c, spatial)
    gy32 = uniform(rng, yshape)
    y, gx, gw, gb = reference(c, x32, w32t, b32, gy32)
    assert list(y.shape) == yshape, (rel, y.shape, yshape)
    atol, rtol = tolerance(reduction_length(c, n, spatial))
    meta = dict(c)
    osz = meta.pop("output_size", None)
    meta["atol"], meta["rtol"] = atol, rtol
    if osz is not None:
        meta["output_size"] = osz
    d = os.path.join(root, rel)
    os.makedirs(d)
    write_json(os.path.join(d, "case.json"), meta)
    wspec = spec_weight_shape(c["op"], c["in_channels"], c["out_channels"], c["kernel_size"], g)
    save(os.path.join(d, "x.npy"), x32)
    save(os.path.join(d, "weight.npy"), w32t.reshape(wspec))
    if b32 is not None:
        save(os.path.join(d, "bias.npy"), b32.reshape(1, -1, 1, 1, 1))
    save(os.path.join(d, "y.npy"), y)
    save(os.path.join(d, "gy.npy"), gy32)
    save(os.path.join(d, "gx.npy"), gx)
    save(os.path.join(d, "gweight.npy"), gw.reshape(wspec))
    if gb is not None:
        save(os.path.join(d, "gbias.npy"), gb.reshape(1, -1, 1, 1, 1))
    return rel


def conv3d_cases():
    V = lambda *a, **kw: make_valid("conv3d", *a, **kw)  # noqa: E731
    return [
        # basics
        V(3, 4, 3, p=1, n=2, spatial=5),
        V(3, 4, 3, p=1, n=2, spatial=5, bias=False),
        V(2, 3, 2, spatial=(3, 4, 5)),
        # asymmetric triples for every argument
        V(3, 5, (3, 2, 1), s=(2, 1, 3), p=(1, 0, 2), dil=(1, 2, 1), n=2, spatial=(7, 6, 5)),
        V(4, 6, (1, 3, 2), s=(1, 3, 2), p=(0, 2, 1), dil=(2, 1, 3), g=2, n=1, spatial=(5, 8, 9),
          bias=False),
        V(2, 2, (2, 3, 4), s=(3, 1, 2), p=(1, 1, 0), dil=(1, 3, 2), n=2, spatial=(6, 9, 7)),
        # size-1 volumes
        V(2, 3, 1, n=2, spatial=1),
        V(2, 3, 3, p=1, n=1, spatial=1),
        V(1, 1, 1, n=1, spatial=1, bias=False),
        V(3, 2, (3, 1, 2), p=(1, 0, 1), spatial=(1, 1, 1)),
        V(2, 2, 3, p=1, spatial=(1, 5, 1)),
        # kernel larger than input (with padding)
        V(2, 3, (4, 5, 3), p=(2, 2, 1), n=2, spatial=(2, 3, 1)),
        V(2, 2, 5, p=2, spatial=1, bias=False),
        V(3, 2, 6, p=(3, 2, 4), dil=1, spatial=(2, 2, 3)),
        # stride larger than kernel
        V(2, 3, 2, s=3, spatial=8),
        V(2, 3, 1, s=2, spatial=(5, 6, 7)),
        V(3, 2, (1, 2, 1), s=(4, 3, 2), p=(1, 0, 0), spatial=(9, 7, 5), bias=False),
        # floor division drops trailing input rows
        V(2, 2, 3, s=2, spatial=(6, 7, 8)),
        # 1x1x1 kernels
        V(4, 5, 1, n=2, spatial=(3, 4, 5)),
        V(4, 6, 1, g=2, spatial=(3, 3, 2), bias=False),
        V(3, 2, 1, p=2, spatial=(2, 1, 3)),          # border outputs are pure bias
        # dilation
        V(2, 3, 3, dil=2, p=2, spatial=6),
        V(2, 2, 2, dil=4, p=2, spatial=(5, 3, 4)),
        V(2, 3, 3, dil=(3, 1, 2), s=(1, 2, 1), p=(3, 1, 0), spatial=(7, 6, 6)),
        # groups: depthwise, multipliers, channel reduction per group
        V(4, 4, 3, p=1, g=4, n=2, spatial=(4, 5, 3)),
        V(3, 6, 3, p=1, g=3, spatial=4),
        V(3, 6, (3, 1, 3), s=(2, 1, 1), p=(1, 0, 1), g=3, spatial=(5, 3, 4), bias=False),
        V(4, 6, 3, p=1, g=2, n=2, spatial=4),
        V(6, 3, 2, g=3, spatial=(3, 4, 3)),
        V(6, 9, (2, 3, 1), s=(1, 2, 1), g=3, dil=(2, 1, 1), spatial=(5, 5, 2)),
        V(8, 8, 3, s=2, p=1, g=8, spatial=5, bias=False),
        V(8, 4, 1, g=4, spatial=3),
        # empty batch
        V(3, 4, 3, p=1, n=0, spatial=4),
        V(4, 6, (2, 3, 1), s=2, g=2, n=0, spatial=(5, 4, 3), bias=False),
        # unbatched
        V(3, 4, 3, p=1, spatial=4, batched=False),
        V(4, 6, (3, 2, 1), s=(2, 1, 1), p=(1, 0, 0), g=2, spatial=(5, 4, 3), batched=False,
          bias=False),
        V(2, 2, 2, dil=2, spatial=(3, 4, 5), batched=False),
        # odd and tiny sizes
        V(1, 1, (2, 1, 2), spatial=(3, 1, 2)),
        V(1, 2, (2, 1, 1), s=(1, 1, 2), spatial=(2, 1, 3), n=3),
        V(5, 1, 3, p=(0, 1, 1), spatial=(3, 2, 1)),
        # "same" (stride 1, incl. even kernels and dilation: asymmetric padding) and "valid"
        V(2, 3, 3, p="same", n=2, spatial=5),
        V(2, 3, 2, p="same", spatial=(4, 3, 5)),
        V(2, 3, (4, 3, 2), p="same", dil=(2, 1, 3), spatial=(6, 5, 7)),
        V(4, 4, (2, 2, 3), p="same", dil=2, g=2, spatial=(3, 4, 2), bias=False),
        V(3, 3, (1, 4, 5), p="same", g=3, spatial=(2, 3, 2), batched=False),
        V(2, 2, 3, p="same", n=0, spatial=3),
        V(2, 3, 3, p="valid", spatial=(5, 4, 6)),
        V(4, 2, (2, 1, 3), s=(2, 1, 2), p="valid", dil=(1, 2, 1), g=2, spatial=(5, 4, 6),
          batched=False),
        # long reductions (tolerance sanity) and medium cases
        V(48, 2, 5, p=2, spatial=5),                               # (C_in/g)*k^3 = 6000
        V(1, 1, 1, n=4, spatial=16, bias=True),                    # N*out = 16384
        V(8, 8, 3, p=1, n=2, spatial=12),                          # 2x8x12^3
        V(8, 16, 3, s=2, p=1, n=2, spatial=12, bias=False),        # enc_down-like
        V(16, 16, 3, p=1, g=16, n=2, spatial=10),                  # depthwise medium
    ]


def conv_transpose3d_cases():
    T = lambda *a, **kw: make_valid("conv_transpose3d", *a, **kw)  # noqa: E731
    return [
        # basics
        T(3, 4, 3, s=2, p=1, n=2, spatial=4),                     # seed-like
        T(3, 4, 3, s=2, p=1, n=2, spatial=4, bias=False),
        T(2, 3, 2, spatial=(3, 4, 5)),
        # asymmetric triples for every argument
        T(4, 6, (3, 2, 1), s=(2, 1, 1), p=(1, 0, 0), opad=(1, 0, 0), g=2, n=2, spatial=(5, 4, 3)),
        T(3, 5, (3, 2, 1), s=(2, 1, 3), p=(1, 0, 0), opad=(1, 0, 2), dil=(1, 2, 1), n=2,
          spatial=(4, 5, 3)),
        T(2, 2, (2, 3, 4), s=(3, 1, 2), p=(1, 2, 0), opad=(2, 0, 1), dil=(1, 3, 2),
          spatial=(3, 4, 2), bias=False),
        # output_padding below dilation but not below stride; output_padding at its maximum
        T(2, 3, 3, s=1, dil=2, opad=1, spatial=4),
        T(2, 3, 3, s=1, dil=3, opad=2, p=1, spatial=(3, 4, 2)),
        T(2, 3, 2, s=2, dil=3, opad=2, spatial=3),
        T(2, 2, 3, s=3, opad=2, p=1, spatial=3),
        T(3, 2, (2, 3, 1), s=(2, 3, 1), dil=(1, 1, 2), opad=(1, 2, 1), p=(0, 1, 0),
          spatial=(3, 2, 4)),
        T(2, 4, (1, 2, 3), s=(4, 1, 2), dil=(1, 3, 3), opad=(3, 2, 2), spatial=(2, 3, 2), n=2,
          bias=False),
        # size-1 volumes
        T(2, 3, 1, n=2, spatial=1),
        T(2, 3, 3, p=1, spatial=1),
        T(1, 1, 1, spatial=1, bias=False),
        T(2, 2, 3, s=2, spatial=1),
        T(3, 2, (2, 1, 3), s=2, p=(0, 0, 1), opad=1, spatial=(1, 2, 1)),
        # kernel larger than input (with padding)
        T(2, 3, (5, 4, 3), p=(2, 1, 1), spatial=(1, 2, 1), n=2),
        T(2, 2, 6, s=2, p=3, spatial=2),
        # stride larger than kernel (output gaps hold only bias)
        T(2, 3, 2, s=3, spatial=3),
        T(2, 3, 1, s=2, opad=1, spatial=(2, 3, 4)),
        T(3, 2, (1, 2, 1), s=(4, 3, 2), p=(0, 1, 0), opad=(3, 0, 1), spatial=(3, 2, 3),
          bias=False),
        # 1x1x1 kernels; padding beyond the kernel crops the output
        T(4, 5, 1, n=2, spatial=(3, 4, 5)),
        T(4, 6, 1, g=2, spatial=(3, 3, 2), bias=False),
        T(3, 2, 1, p=1, spatial=(5, 4, 3)),
        T(2, 2, (1, 2, 1), p=(1, 2, 0), spatial=(4, 6, 3)),
        # dilation
        T(2, 3, 3, dil=2, p=2, spatial=4),
        T(2, 2, 2, dil=4, s=2, p=1, spatial=(3, 2, 3)),
        # groups: depthwise, multipliers, reduction per group
        T(4, 4, 3, s=2, p=1, opad=1, g=4, n=2, spatial=3),
        T(3, 6, 3, p=1, g=3, spatial=3),
        T(2, 6, (3, 1, 2), s=(2, 1, 2), g=2, spatial=(2, 3, 3), bias=False),
        T(6, 3, 2, s=2, g=3, spatial=(3, 2, 3)),
        T(6, 9, (2, 3, 1), s=(1, 2, 1), dil=(2, 1, 1), g=3, opad=(1, 1, 0), spatial=(3, 3, 2)),
        T(8, 8, 3, s=2, p=1, opad=1, g=4, spatial=3),              # grouped_up-like
        # empty batch
        T(3, 4, 3, s=2, p=1, n=0, spatial=3),
        T(4, 6, (2, 3, 1), s=2, opad=1, g=2, n=0, spatial=(3, 2, 2), bias=False),
        # unbatched
        T(3, 4, 3, s=2, p=1, spatial=3, batched=False),
        T(4, 6, (3, 2, 1), s=(2, 1, 1), p=(1, 0, 0), opad=(1, 0, 0), g=2, spatial=(3, 4, 2),
          batched=False, bias=False),
        T(2, 2, 2, dil=2, spatial=(2, 3, 1), batched=False),
        # odd and tiny sizes
        T(1, 1, 2, spatial=(3, 1, 2)),
        T(1, 2, (2, 1, 1), s=(1, 1, 2), spatial=(2, 1, 3), n=3),
        T(5, 1, 3, p=(0, 1, 1), spatial=(3, 2, 1)),
        # requested output_size (stored output_padding is the derived one)
        T(2, 3, 3, s=2, p=1, spatial=4, output_size=(8, 7, 8)),
        T(2, 3, (3, 2, 4), s=(3, 2, 1), p=(1, 0, 1), spatial=(3, 3, 4), output_size=(8, 7, 5),
          n=2),
        T(4, 2, 3, s=3, dil=2, g=2, spatial=(2, 3, 2), output_size=(9, 11, 10), bias=False),
        T(2, 2, 3, s=1, dil=2, spatial=3, output_size=(7, 7, 7)),
        T(2, 3, 4, s=2, p=1, spatial=(2, 3, 2), output_size=(5, 6, 4), batched=False),
        # long reductions (tolerance sanity) and medium cases
        T(48, 2, 5, p=2, spatial=5),                               # (C_in/g)*k^3 = 6000
        T(1, 1, 1, n=4, spatial=16, bias=True),
        T(8, 4, 4, s=2, p=1, n=2, spatial=6),                      # gan_up-like: 2x8x6^3 -> 12^3
        T(8, 8, 3, p=1, n=2, spatial=12, bias=False),
        T(16, 16, 3, s=2, p=1, opad=1, g=4, n=2, spatial=5),       # grouped_up-like
    ]


def padding_mode_cases():
    """Both ops in every padding mode (SPEC §1 "Padding modes"), plus two explicit "zeros"."""
    out = []
    for m in ("reflect", "replicate", "circular"):
        V = lambda *a, **kw: out.append(make_valid("conv3d", *a, mode=m, **kw))  # noqa: E731
        T = lambda *a, **kw: out.append(  # noqa: E731
            make_valid("conv_transpose3d", *a, mode=m, **kw))
        V(3, 4, 3, p=1, n=2, spatial=(4, 5, 3))
        # asymmetric triples, groups, stride, dilation
        V(4, 6, (3, 2, 1), s=(2, 1, 3), p=(1, 0, 2), dil=(1, 2, 1), g=2, spatial=(5, 6, 4),
          bias=False)
        V(2, 3, 3, p=(2, 1, 1), spatial=(3, 4, 5), batched=False)
        # the largest legal padding: reflect size - 1, circular the size (replicate: any)
        top = {"reflect": (2, 3, 1), "replicate": (4, 5, 3), "circular": (3, 4, 2)}[m]
        V(2, 2, 2, p=top, spatial=(3, 4, 2))
        # "same" with an even kernel and dilation: asymmetric (1, 2) padding in the mode
        V(2, 3, (4, 3, 2), p="same", dil=(2, 1, 3), spatial=(6, 5, 7))
        V(4, 4, 3, p=2, dil=2, g=4, spatial=(5, 4, 6))
        V(2, 3, 3, p=1, n=0, spatial=3)
        V(8, 8, 3, p=1, n=2, spatial=6)                              # body-like
        T(3, 4, 3, s=2, p=1, opad=1, n=2, spatial=3)                 # seed-like
        T(4, 6, (3, 2, 3), s=(2, 1, 2), p=(1, 1, 2), opad=(1, 0, 1), dil=(1, 2, 1), g=2,
          spatial=(3, 4, 3), bias=False)
        T(2, 3, 4, s=2, p=1, spatial=(2, 3, 2), batched=False)
        # output (2, 3, 2) from a 1-voxel input with stride 1: kernel 2p + size; the largest
        # legal padding of the output
        tp = {"reflect": (1, 2, 1), "replicate": (2, 3, 2), "circular": (2, 3, 2)}[m]
        T(1, 2, [2 * tp[i] + (2, 3, 2)[i] for i in range(3)], p=tp, spatial=1)
        T(2, 3, 3, s=2, p=1, spatial=4, output_size=(8, 7, 8))
        T(3, 4, 3, s=2, p=1, n=0, spatial=3)
        T(2, 3, 3, dil=2, opad=1, p=2, spatial=4)                    # output_padding < dilation
        T(8, 4, 4, s=2, p=1, n=1, spatial=5)                         # gan_up-like
    out.append(make_valid("conv3d", 2, 3, 3, p=1, spatial=(3, 4, 5), mode="zeros"))
    out.append(make_valid("conv_transpose3d", 2, 3, 3, s=2, p=1, spatial=3, mode="zeros"))
    return out


MAX_ELEMS = 4000


def random_cases(count, seed=20240607):
    rng = np.random.default_rng(seed)
    out = []

    def pick(vals, w=None):
        w = np.asarray(w if w is not None else [1] * len(vals), dtype=float)
        return vals[int(rng.choice(len(vals), p=w / w.sum()))]

    while len(out) < count:
        op = "conv3d" if rng.random() < 0.5 else "conv_transpose3d"
        kind = pick(["g1", "grouped", "depthwise"], [6, 3, 2])
        if kind == "g1":
            g, cin, cout = 1, int(rng.integers(1, 7)), int(rng.integers(1, 7))
        elif kind == "grouped":
            g = int(rng.integers(2, 5))
            cin, cout = g * int(rng.integers(1, 4)), g * int(rng.integers(1, 4))
        else:
            g = int(rng.integers(2, 7))
            cin, cout = g, g * pick([1, 2, 3], [3, 1, 1])
            if op == "conv_transpose3d" and rng.random() < 0.3:
                cin, cout = cout, cin
        k = [pick([1, 2, 3, 4, 5], [3, 3, 4, 2, 1]) for _ in range(3)]
        s = [pick([1, 2, 3, 4], [5, 3, 2, 1]) for _ in range(3)]
        dil = [pick([1, 2, 3], [6, 2, 1]) for _ in range(3)]
        spatial = [pick(list(range(1, 10)), [2, 2, 2, 2, 2, 2, 1, 1, 1]) for _ in range(3)]
        batched = rng.random() < 0.85
        n = pick([0, 1, 2, 3], [1, 10, 8, 4]) if batched else 1
        bias = rng.random() < 0.5
        osz = None
        opad = [0, 0, 0]
        if op == "conv3d":
            u = rng.random()
            if u < 0.10:
                pad, s = "same", [1, 1, 1]
            elif u < 0.15:
                pad = "valid"
            else:
                pad = [pick([0, 1, 2, 3], [4, 3, 2, 1]) for _ in range(3)]
        else:
            pad = [pick([0, 1, 2, 3], [4, 3, 2, 1]) for _ in range(3)]
            opad = [int(rng.integers(0, max(s[i], dil[i]))) for i in range(3)]
            if rng.random() < 0.15:
                osz = [min_transposed_size(spatial[i], k[i], s[i], pad[i], dil[i]) +
                       int(rng.integers(0, s[i])) for i in range(3)]
        c = {"op": op, "in_channels": cin, "out_channels": cout, "kernel_size": k, "stride": s,
             "padding": pad, "output_padding": opad, "dilation": dil, "groups": g,
             "bias": bias, "batched": batched}
        if osz is not None:
            mins = [min_transposed_size(spatial[i], k[i], s[i], pad[i], dil[i]) for i in range(3)]
            c["output_padding"] = [osz[i] - mins[i] for i in range(3)]
            c["output_size"] = osz
        if spec_violations(c, n, spatial, None):
            continue
        osp = out_spatial(c, spatial)
        sizes = [max(n, 1) * cin * prod(spatial), max(n, 1) * cout * prod(osp),
                 cin * cout // g * prod(k)]
        if max(sizes) > MAX_ELEMS:
            continue
        out.append((c, n, spatial))
    return out


# ----------------------------------------------------------------------------------------------
# SPEC §1 validation, in Python, used to double-check every case (valid and expect_error)

def spec_violations(c, n, spatial, shapes):
    """List of SPEC §1 rules the case breaks. shapes: None for valid cases, else
    dict(x_shape, weight_shape, bias_shape?, x_dtype?) as in an expect_error case."""
    v = []
    op = c["op"]
    cin, cout, g = c["in_channels"], c["out_channels"], c["groups"]
    k, s, dil = trip(c["kernel_size"]), trip(c["stride"]), trip(c["dilation"])
    pad, opad = c["padding"], trip(c["output_padding"])
    if cin < 1 or cout < 1:
        v.append("channels")
    if min(k) < 1:
        v.append("kernel")
    if min(s) < 1:
        v.append("stride")
    if min(dil) < 1:
        v.append("dilation")
    if isinstance(pad, str):
        if pad not in ("same", "valid"):
            v.append("padding_string")
        elif op != "conv3d":
            v.append("padding_string_conv3d_only")
        elif pad == "same" and max(s) != 1:
            v.append("same_needs_stride1")
    elif min(pad) < 0:
        v.append("padding")
    if min(opad) < 0:
        v.append("output_padding")
    if op == "conv3d" and max(opad) != 0:
        v.append("conv3d_has_no_output_padding")
    mode = c.get("padding_mode", "zeros")
    if not isinstance(mode, str) or mode not in MODES:
        v.append("padding_mode")
    if g < 1:
        v.append("groups")
    elif cin % g or cout % g:
        v.append("groups_divide")
    if op == "conv_transpose3d" and min(s) >= 1 and min(dil) >= 1:
        if any(opad[i] >= max(s[i], dil[i]) for i in range(3)):
            v.append("output_padding_max")
    if v:
        return v
    if shapes is None:
        xshape = ([n] if c["batched"] else []) + [cin] + list(spatial)
        wshape = spec_weight_shape(op, cin, cout, k, g)
        shapes = {"x_shape": xshape, "weight_shape": wshape}
        if c["bias"]:
            shapes["bias_shape"] = [1, cout, 1, 1, 1]
    xs = shapes["x_shape"]
    if len(xs) not in (4, 5):
        v.append("input_rank")
        return v
    if xs[-4] != cin:
        v.append("input_channels")
    if shapes.get("x_dtype", "float32") != "float32":
        v.append("dtype_mismatch")
    if list(shapes["weight_shape"]) != spec_weight_shape(op, cin, cout, k, g):
        v.append("weight_shape")
    if "bias_shape" in shapes:
        if not c["bias"]:
            v.append("bias_when_disabled")
        elif list(shapes["bias_shape"]) != [1, cout, 1, 1, 1]:
            v.append("bias_shape")
    sp = list(xs[-3:])
    cc = dict(c)
    cc["kernel_size"], cc["stride"], cc["dilation"] = k, s, dil
    cc["output_padding"] = opad
    if not isinstance(pad, str):
        cc["padding"] = trip(pad)
    if min(out_spatial(cc, sp)) < 1:
        v.append("output_size_lt1")
    osz = c.get("output_size")
    if osz is not None and op == "conv_transpose3d":
        mins = [min_transposed_size(sp[i], k[i], s[i], cc["padding"][i], dil[i])
                for i in range(3)]
        # SPEC's reachable range: output_padding in [0, max(stride, dilation) - 1]
        if any(not (mins[i] <= osz[i] <= mins[i] + max(s[i], dil[i]) - 1) for i in range(3)):
            v.append("requested_output_size")
    if mode != "zeros" and not v:
        # F.pad's rules on the padded tensor: a Conv3d's input, a ConvTranspose3d's output
        size, lohi = padded_side(cc, sp)
        if mode == "reflect" and any(max(lohi[i]) >= size[i] for i in range(3)):
            v.append("padding_mode_reflect")
        if mode == "circular" and any(max(lohi[i]) > size[i] for i in range(3)):
            v.append("padding_mode_circular")
        if mode == "replicate" and min(size) < 1:
            v.append("padding_mode_replicate")
    return v


# ----------------------------------------------------------------------------------------------
# expect_error cases

def error_cases():
    """(folder name, case dict, rule id). Every case breaks exactly one SPEC §1 rule."""
    cases = []

    def E(name, op, cin, cout, k, s=1, p=0, opad=0, dil=1, g=1, bias=True, x_shape=None,
          weight_shape=None, bias_shape="auto", x_dtype=None, output_size=None, rule=None,
          spatial=(5, 5, 5), n=2, mode=None):
        k3 = trip(k)
        c = {"op": op, "in_channels": cin, "out_channels": cout, "kernel_size": k3,
             "stride": trip(s), "padding": trip(p), "output_padding": trip(opad),
             "dilation": trip(dil), "groups": g, "bias": bool(bias)}
        if mode is not None:
            c["padding_mode"] = mode
        if x_shape is None:
            x_shape = [n, cin] + trip(spatial)
        if weight_shape is None:
            gg = g if g >= 1 and cin % g == 0 and cout % g == 0 else 1
            weight_shape = spec_weight_shape(op, cin, cout, k3, gg)
        c["batched"] = len(x_shape) != 4
        c["atol"], c["rtol"] = 1e-5, 1e-5
        c["expect_error"] = True
        c["x_shape"] = list(x_shape)
        c["weight_shape"] = list(weight_shape)
        if bias_shape == "auto":
            bias_shape = [1, cout, 1, 1, 1] if bias else None
        if bias_shape is not None:
            c["bias_shape"] = list(bias_shape)
        if x_dtype is not None:
            c["x_dtype"] = x_dtype
        if output_size is not None:
            c["output_size"] = trip(output_size)
        c["rule"] = rule
        cases.append((name, c, rule))

    for op, tag in (("conv3d", "conv"), ("conv_transpose3d", "convT")):
        # channels >= 1
        E(f"{tag}_in_channels_0", op, 0, 4, 3, rule="channels",
          weight_shape=spec_weight_shape(op, 0, 4, 3, 1))
        E(f"{tag}_out_channels_0", op, 2, 0, 3, rule="channels", bias=False,
          weight_shape=spec_weight_shape(op, 2, 0, 3, 1))
        # kernel >= 1
        E(f"{tag}_kernel_0", op, 2, 3, 0, rule="kernel")
        E(f"{tag}_kernel_0_axisH", op, 2, 3, (3, 0, 2), rule="kernel")
        # stride >= 1
        E(f"{tag}_stride_0", op, 2, 3, 3, s=0, rule="stride")
        E(f"{tag}_stride_0_axisW", op, 2, 3, 3, s=(2, 1, 0), rule="stride")
        E(f"{tag}_stride_neg", op, 2, 3, 3, s=(-1, 1, 1), rule="stride")
        # dilation >= 1
        E(f"{tag}_dilation_0", op, 2, 3, 3, dil=0, rule="dilation")
        E(f"{tag}_dilation_0_axisD", op, 2, 3, 3, dil=(0, 1, 2), rule="dilation")
        E(f"{tag}_dilation_neg", op, 2, 3, 3, dil=(1, -2, 1), rule="dilation")
        # padding >= 0
        E(f"{tag}_padding_neg", op, 2, 3, 3, p=-1, rule="padding")
        E(f"{tag}_padding_neg_axisH", op, 2, 3, 3, p=(1, -1, 0), rule="padding")
        # groups >= 1 and divides both channel counts
        E(f"{tag}_groups_0", op, 2, 4, 3, g=0, rule="groups")
        E(f"{tag}_groups_neg", op, 2, 4, 3, g=-2, rule="groups")
        E(f"{tag}_groups_not_dividing_in", op, 3, 4, 3, g=2, rule="groups_divide",
          weight_shape=[2, 2, 1, 3, 3, 3] if op == "conv3d" else [2, 1, 2, 3, 3, 3])
        E(f"{tag}_groups_not_dividing_out", op, 4, 6, 3, g=4, rule="groups_divide",
          weight_shape=[4, 1, 1, 3, 3, 3])
        E(f"{tag}_groups_gt_channels", op, 2, 2, 3, g=4, rule="groups_divide",
          weight_shape=spec_weight_shape(op, 2, 2, 3, 1))
        # input rank 4 or 5
        E(f"{tag}_input_rank3", op, 2, 3, 3, x_shape=[2, 5, 5], rule="input_rank")
        E(f"{tag}_input_rank6", op, 2, 3, 3, x_shape=[1, 2, 2, 5, 5, 5], rule="input_rank")
        E(f"{tag}_input_rank2", op, 2, 3, 1, x_shape=[2, 5], rule="input_rank")
        # input channels == in_channels
        E(f"{tag}_input_channels", op, 3, 4, 3, x_shape=[2, 4, 5, 5, 5], rule="input_channels")
        E(f"{tag}_input_channels_unbatched", op, 3, 4, 3, x_shape=[2, 5, 5, 5],
          rule="input_channels")
        E(f"{tag}_input_channels_grouped", op, 4, 6, 3, g=2, x_shape=[1, 2, 5, 5, 5],
          rule="input_channels")
        # weight shape (SPEC table)
        good = spec_weight_shape(op, 4, 6, (3, 2, 1), 1)
        E(f"{tag}_weight_rank4", op, 4, 6, (3, 2, 1), weight_shape=good[:4],
          rule="weight_shape")
        E(f"{tag}_weight_rank6_groups1", op, 4, 6, (3, 2, 1), weight_shape=[1] + good,
          rule="weight_shape")
        E(f"{tag}_weight_swapped_channels", op, 4, 6, (3, 2, 1),
          weight_shape=[good[1], good[0]] + good[2:], rule="weight_shape")
        E(f"{tag}_weight_wrong_dim0", op, 4, 6, (3, 2, 1),
          weight_shape=[good[0] + 1] + good[1:], rule="weight_shape")
        E(f"{tag}_weight_wrong_dim1", op, 4, 6, (3, 2, 1),
          weight_shape=[good[0], good[1] - 1] + good[2:], rule="weight_shape")
        E(f"{tag}_weight_wrong_kernel_dim", op, 4, 6, (3, 2, 1),
          weight_shape=good[:2] + [3, 1, 2], rule="weight_shape")
        E(f"{tag}_weight_kernel_transposed", op, 4, 6, (3, 2, 1),
          weight_shape=good[:2] + [1, 2, 3], rule="weight_shape")
        g6 = spec_weight_shape(op, 4, 6, 3, 2)
        E(f"{tag}_weight_5d_for_groups2", op, 4, 6, 3, g=2,
          weight_shape=torch_weight_shape(op, 4, 6, 3, 2), rule="weight_shape")
        E(f"{tag}_weight_6d_wrong_group_dim", op, 8, 8, 3, g=4,
          weight_shape=[2, 4, 2, 3, 3, 3], rule="weight_shape")
        E(f"{tag}_weight_6d_swapped_inner", op, 4, 6, 3, g=2,
          weight_shape=[g6[0], g6[2], g6[1]] + g6[3:], rule="weight_shape")
        E(f"{tag}_weight_6d_wrong_kernel", op, 4, 6, 3, g=2,
          weight_shape=g6[:3] + [3, 3, 2], rule="weight_shape")
        E(f"{tag}_weight_depthwise_5d", op, 4, 4, 3, g=4,
          weight_shape=torch_weight_shape(op, 4, 4, 3, 4), rule="weight_shape")
        # bias shape (SPEC: (1, C_out, 1, 1, 1)); bias given to a bias-less op
        E(f"{tag}_bias_1d", op, 2, 3, 3, bias_shape=[3], rule="bias_shape")
        E(f"{tag}_bias_wrong_channels", op, 2, 3, 3, bias_shape=[1, 4, 1, 1, 1],
          rule="bias_shape")
        E(f"{tag}_bias_wrong_trailing", op, 2, 3, 3, bias_shape=[1, 3, 1, 1, 2],
          rule="bias_shape")
        E(f"{tag}_bias_rank4", op, 2, 3, 3, bias_shape=[3, 1, 1, 1], rule="bias_shape")
        E(f"{tag}_bias_when_disabled", op, 2, 3, 3, bias=False, bias_shape=[1, 3, 1, 1, 1],
          rule="bias_when_disabled")
        # dtype: float64 input with the default float32 weight (PyTorch: error)
        E(f"{tag}_x_float64_weight_float32", op, 2, 3, 3, x_dtype="float64",
          rule="dtype_mismatch")

    C, T = "conv3d", "conv_transpose3d"
    # output spatial size >= 1
    E("conv_output_size_0_kernel_gt_input", C, 2, 3, 4, spatial=3, rule="output_size_lt1")
    E("conv_output_size_0_axisW", C, 2, 3, (3, 3, 5), p=(1, 1, 0), spatial=(4, 4, 4),
      rule="output_size_lt1")
    E("conv_output_size_0_dilation", C, 2, 3, 3, dil=(1, 3, 1), spatial=(5, 6, 5),
      rule="output_size_lt1")
    E("conv_output_size_0_unbatched", C, 2, 3, 2, x_shape=[2, 1, 3, 3],
      rule="output_size_lt1")
    E("convT_output_size_neg", T, 2, 3, 1, p=1, spatial=1, rule="output_size_lt1")
    E("convT_output_size_0", T, 2, 3, 1, p=1, spatial=(2, 3, 3), rule="output_size_lt1")
    E("convT_output_size_0_axisH", T, 2, 3, (3, 1, 2), s=2, p=(1, 2, 1), spatial=(3, 2, 3),
      rule="output_size_lt1")
    # output_padding >= 0 and < max(stride, dilation)
    E("convT_output_padding_neg", T, 2, 3, 3, s=2, opad=-1, rule="output_padding")
    E("convT_output_padding_neg_axisW", T, 2, 3, 3, s=2, opad=(1, 0, -1),
      rule="output_padding")
    E("convT_output_padding_eq_stride", T, 2, 3, 3, s=2, opad=2, rule="output_padding_max")
    E("convT_output_padding_eq_dilation", T, 2, 3, 3, s=1, dil=2, opad=2,
      rule="output_padding_max")
    E("convT_output_padding_nonzero_s1_d1", T, 2, 3, 3, opad=1, rule="output_padding_max")
    E("convT_output_padding_eq_max_axisH", T, 2, 3, (3, 2, 3), s=(2, 3, 1), dil=(1, 1, 2),
      opad=(1, 3, 1), rule="output_padding_max")
    E("convT_output_padding_gt_both", T, 2, 3, 3, s=2, dil=2, opad=(0, 0, 4),
      rule="output_padding_max")
    # padding strings
    E("conv_same_stride2", C, 2, 3, 3, s=2, p="same", rule="same_needs_stride1")
    E("conv_same_stride_axisW", C, 2, 3, 3, s=(1, 1, 2), p="same", rule="same_needs_stride1")
    E("conv_padding_unknown_string", C, 2, 3, 3, p="full", rule="padding_string")
    E("convT_padding_same", T, 2, 3, 3, p="same", rule="padding_string_conv3d_only")
    # requested output_size outside the reachable range (conv_transpose3d forward)
    E("convT_output_size_request_too_big", T, 2, 3, 3, s=2, p=1, spatial=4,
      output_size=(9, 8, 8), rule="requested_output_size")
    E("convT_output_size_request_too_small", T, 2, 3, 3, s=2, p=1, spatial=4,
      output_size=(7, 6, 7), rule="requested_output_size")
    E("convT_output_size_request_s1", T, 2, 3, 3, spatial=4, output_size=(6, 6, 7),
      rule="requested_output_size")
    E("convT_output_size_request_dilated", T, 2, 3, 3, s=(1, 2, 1), dil=2, spatial=4,
      output_size=(8, 11, 10), rule="requested_output_size")
    # padding_mode: a known name (SPEC §2), and F.pad's rules on the padded tensor (SPEC §1):
    # a Conv3d's input, a ConvTranspose3d's output (stride 1 from a 3-voxel input:
    # size 2 - 2p + kernel)
    E("conv_padding_mode_unknown", C, 2, 3, 3, p=1, mode="mirror", rule="padding_mode")
    E("conv_padding_mode_constant", C, 2, 3, 3, p=1, mode="constant", rule="padding_mode")
    E("conv_padding_mode_not_a_string", C, 2, 3, 3, p=1, mode=1, rule="padding_mode")
    E("convT_padding_mode_unknown", T, 2, 3, 3, s=2, p=1, mode="symmetric",
      rule="padding_mode")
    E("conv_reflect_padding_eq_size", C, 2, 3, 3, p=(3, 1, 1), spatial=(3, 5, 5),
      mode="reflect", rule="padding_mode_reflect")
    E("conv_reflect_padding_eq_size_axisW", C, 2, 3, 3, p=(1, 1, 4), spatial=(5, 5, 4),
      mode="reflect", rule="padding_mode_reflect")
    E("conv_reflect_same_size1", C, 2, 3, 3, p="same", spatial=(5, 1, 5), mode="reflect",
      rule="padding_mode_reflect")
    E("conv_circular_padding_gt_size", C, 2, 3, 3, p=(3, 1, 1), spatial=(2, 5, 5),
      mode="circular", rule="padding_mode_circular")
    E("conv_circular_padding_gt_size_axisH", C, 2, 3, 2, p=(0, 4, 0), spatial=(5, 3, 5),
      mode="circular", rule="padding_mode_circular")
    E("conv_replicate_empty_input", C, 2, 3, 1, p=1, spatial=(0, 5, 5), mode="replicate",
      rule="padding_mode_replicate")
    E("convT_reflect_padding_eq_output", T, 2, 3, 4, p=2, spatial=3, mode="reflect",
      rule="padding_mode_reflect")
    E("convT_reflect_padding_gt_output_axisD", T, 2, 3, (3, 5, 5), p=(2, 2, 2), spatial=3,
      mode="reflect", rule="padding_mode_reflect")
    E("convT_circular_padding_gt_output", T, 2, 3, 6, p=3, spatial=3, mode="circular",
      rule="padding_mode_circular")
    E("convT_circular_padding_gt_output_stride2", T, 2, 3, (5, 3, 3), s=2, p=(4, 1, 1),
      spatial=3, mode="circular", rule="padding_mode_circular")
    return cases


def pytorch_try(c):
    """Build and run the op in PyTorch with tensors of the case's shapes, converting SPEC
    layouts (6-D grouped weight, (1, C, 1, 1, 1) bias) to PyTorch's where the shape is the SPEC
    one. Returns (raised, message)."""
    op, g = c["op"], c["groups"]
    try:
        dtype = torch.float64 if c.get("x_dtype") == "float64" else torch.float32
        x = torch.zeros(c["x_shape"], dtype=dtype)
        ws = list(c["weight_shape"])
        if len(ws) == 6 and g >= 1:
            ws = [ws[0] * ws[1]] + ws[2:]
        w = torch.rand(ws) - 0.5
        pad = c["padding"] if isinstance(c["padding"], str) else tuple(c["padding"])
        mode = mode_of(c)
        if op == "conv3d":
            m = nn.Conv3d(c["in_channels"], c["out_channels"], c["kernel_size"], c["stride"],
                          pad, c["dilation"], g, c["bias"], padding_mode=mode)
        else:
            mode = check_mode(c)  # PyTorch's module knows only zeros: the definition below
            m = nn.ConvTranspose3d(c["in_channels"], c["out_channels"], c["kernel_size"],
                                   c["stride"], pad, c["output_padding"], g, c["bias"],
                                   c["dilation"])
        m.weight = nn.Parameter(w)
        if "bias_shape" in c:
            bs = list(c["bias_shape"])
            if len(bs) == 5 and bs[0] == 1 and bs[2:] == [1, 1, 1]:
                bs = [bs[1]]
            if m.bias is None:
                # PyTorch: load_state_dict(strict=True) rejects an unexpected "bias" key
                m.load_state_dict({"weight": m.weight.detach(), "bias": torch.zeros(bs)})
            m.bias = nn.Parameter(torch.zeros(bs))
        if op == "conv_transpose3d" and c.get("output_size") is not None:
            y = m(x, output_size=c["output_size"])
        elif op == "conv_transpose3d" and mode != "zeros":
            y = conv_transpose3d_m(c, x, m.weight, m.bias)
        elif x.dim() == 4 and mode == "circular":  # torch 1.13 pads circularly only batched
            y = m(x.unsqueeze(0)).squeeze(0)
        else:
            y = m(x)
        if y.numel() > 0:
            y.sum().backward()
        return False, "ran"
    except Exception as e:  # noqa: BLE001
        return True, f"{type(e).__name__}: {str(e).splitlines()[0][:160]}"


# PyTorch accepts these; they are errors only by SPEC §1's stricter rules.
SPEC_ONLY_RULES = {"weight_shape", "bias_shape", "channels"}


def write_error(root, name, c, rule):
    rel = f"errors/{name}"
    d = os.path.join(root, rel)
    os.makedirs(d)
    shapes = {kk: c[kk] for kk in ("x_shape", "weight_shape", "bias_shape", "x_dtype") if kk in c}
    viol = spec_violations(c, None, None, shapes)
    assert viol == [rule], (name, viol, rule)
    raised, msg = pytorch_try(c)
    if not raised:
        assert rule in SPEC_ONLY_RULES, (name, "PyTorch accepts", rule)
        c = dict(c)
        c["spec_only"] = True
    write_json(os.path.join(d, "case.json"), c)
    return rel


# ----------------------------------------------------------------------------------------------

def generate(root, n_random):
    os.makedirs(root, exist_ok=True)
    for sub in SUBDIRS:
        shutil.rmtree(os.path.join(root, sub), ignore_errors=True)
    written = {sub: [] for sub in SUBDIRS}
    for sub, items in (("conv3d", conv3d_cases()),
                       ("conv_transpose3d", conv_transpose3d_cases()),
                       ("random", random_cases(n_random)),
                       ("padding_modes", padding_mode_cases())):
        names = set()
        for item in items:
            written[sub].append(write_valid(root, sub, item, names))
    names = set()
    for name, c, rule in error_cases():
        assert name not in names, name
        names.add(name)
        written["errors"].append(write_error(root, name, c, rule))
    for sub in SUBDIRS:
        print(f"{sub}: {len(written[sub])} cases")
    coverage(root)
    total = sum(os.path.getsize(os.path.join(dp, f))
                for dp, _, fs in os.walk(root) for f in fs)
    print(f"total size: {total / 1e6:.2f} MB")


def coverage(root):
    """Print how many valid cases exercise each feature (per folder and in total)."""
    feats, order = {}, []
    for d in find_cases(root):
        with open(os.path.join(d, "case.json")) as f:
            c = json.load(f)
        if c.get("expect_error"):
            continue
        sub = os.path.relpath(d, root).split(os.sep)[0]
        x = np.load(os.path.join(d, "x.npy"), mmap_mode="r")
        sp = list(x.shape[-3:])
        n = x.shape[0] if c["batched"] else 1
        k, s, dil, pad = c["kernel_size"], c["stride"], c["dilation"], c["padding"]
        opad, g = c["output_padding"], c["groups"]
        ek = [dil[i] * (k[i] - 1) + 1 for i in range(3)]
        trips = [k, s, dil] + ([pad] if not isinstance(pad, str) else []) + (
            [opad] if c["op"] == "conv_transpose3d" else [])
        f = {"conv3d": c["op"] == "conv3d", "conv_transpose3d": c["op"] == "conv_transpose3d",
             "groups>1": g > 1,
             "depthwise (g=C_in)": g > 1 and g == c["in_channels"],
             "grouped with multiplier": g > 1 and c["out_channels"] != c["in_channels"],
             "bias": c["bias"], "no bias": not c["bias"],
             "unbatched": not c["batched"], "N=0": c["batched"] and n == 0,
             "asymmetric triple": any(len(set(t)) > 1 for t in trips),
             "size-1 volume": prod(sp) == 1,
             "kernel > input": any(k[i] > sp[i] for i in range(3)),
             "stride > kernel": any(s[i] > k[i] for i in range(3)),
             "1x1x1 kernel": prod(k) == 1,
             "dilation>1": max(dil) > 1,
             "padding same": pad == "same",
             "padding same, even kernel": pad == "same" and any(
                 dil[i] * (k[i] - 1) % 2 for i in range(3)),
             "padding valid": pad == "valid",
             "output_padding>0": max(opad) > 0,
             "output_padding >= stride (< dilation)": any(
                 opad[i] >= s[i] for i in range(3)),
             "output_padding at max": c["op"] == "conv_transpose3d" and any(
                 opad[i] == max(s[i], dil[i]) - 1 > 0 for i in range(3)),
             "output_size": "output_size" in c,
             "padding_mode reflect": mode_of(c) == "reflect",
             "padding_mode replicate": mode_of(c) == "replicate",
             "padding_mode circular": mode_of(c) == "circular",
             "padding_mode given as zeros": c.get("padding_mode") == "zeros",
             "dilated kernel span > input": c["op"] == "conv3d" and not isinstance(
                 pad, str) and any(ek[i] > sp[i] for i in range(3))}
        order = list(f)
        for name, on in f.items():
            if on:
                feats.setdefault(name, {}).setdefault(sub, 0)
                feats[name][sub] += 1
    print("coverage (valid cases per feature, by folder):")
    for name in order:
        per = feats.get(name, {})
        print(f"  {name:40s} {sum(per.values()):4d}  " +
              " ".join(f"{k}={v}" for k, v in sorted(per.items())))


# ----------------------------------------------------------------------------------------------
# --verify

def find_cases(root):
    out = []
    for dp, _, fs in os.walk(root):
        if "case.json" in fs:
            out.append(dp)
    return sorted(out)


def mismatch(got, want, atol, rtol):
    """max over elements of |got - want| / (atol + rtol*|want|)  (> 1 means FAIL)."""
    if want.size == 0:
        return 0.0
    return float(np.max(np.abs(got.astype(np.float64) - want.astype(np.float64)) /
                        (atol + rtol * np.abs(want.astype(np.float64)))))


def seq_sum_check(c, x32, w32t, b32, gy32, stored, atol, rtol, rng):
    """Emulate plain left-to-right float32 accumulation (natural, reversed and a random order of
    the terms) for sampled elements of y, gx, gweight, gbias; return the worst ratio."""
    x = torch.from_numpy(x32).double().requires_grad_()
    w = torch.from_numpy(w32t).double().requires_grad_()
    b = torch.from_numpy(b32).double().requires_grad_() if b32 is not None else None
    gy = torch.from_numpy(gy32).double().requires_grad_()
    y = forward(c, x, w, b)
    if y.numel() == 0:
        return 0.0
    inputs = [x, w] + ([b] if b is not None else [])
    grads = torch.autograd.grad(y, inputs, gy, create_graph=True)
    targets = [("y", y, x, x32, stored["y"]), ("gx", grads[0], gy, gy32, stored["gx"]),
               ("gweight", grads[1], gy, gy32, stored["gweight"])]
    if b is not None:
        targets.append(("gbias", grads[2], gy, gy32, stored["gbias"]))
    worst = 0.0
    for name, t, wrt, wrt32, want in targets:
        flat = t.reshape(-1)
        want = want.reshape(-1)
        if flat.numel() == 0:
            continue
        picks = {int(np.argmax(np.abs(want)))}
        picks.update(int(i) for i in rng.integers(0, flat.numel(), size=3))
        for e in sorted(picks):
            coef = torch.autograd.grad(flat[e], wrt, retain_graph=True)[0].detach().numpy()
            terms = (wrt32.astype(np.float64) * coef).astype(np.float32).reshape(-1)
            terms = terms[coef.reshape(-1) != 0]
            exact = float(np.sum(terms.astype(np.float64)))
            if name == "y" and b is not None:
                ch = (e // prod(t.shape[-3:])) % t.shape[-4]
                terms = np.append(terms, np.float32(b32[ch]))
                exact += float(b32[ch])
            for order in (slice(None), slice(None, None, -1), rng.permutation(len(terms))):
                got = np.cumsum(terms[order], dtype=np.float32)[-1] if len(terms) else 0.0
                r = abs(float(got) - float(want[e])) / (atol + rtol * abs(float(want[e])))
                worst = max(worst, r)
    return worst


def verify(root):
    """For every case: (1) stored files well-formed (dtype, shapes per SPEC), (2) stored references
    pass their own tolerances against a fresh float64 PyTorch recomputation (also through
    torch.nn modules / output_size), (3) PyTorch's own float32 computation and an emulated
    left-to-right float32 accumulation pass them too (not too tight), (4) a 0.02 change to one
    used weight element (-> y, gx), one used x element (-> y, gweight) and one gy element
    (-> gbias) is detected (not vacuous). expect_error cases: the Python SPEC validator finds
    exactly the claimed rule, and PyTorch raises unless the case is marked spec_only."""
    rng = np.random.default_rng(0)
    dirs = find_cases(root)
    problems = []
    stats = {"valid": 0, "error": 0, "spec_only": 0, "bit_identical": 0,
             "worst_recompute": 0.0, "worst_torch_f32": 0.0, "worst_seq_f32": 0.0,
             "min_detect_w": math.inf, "min_detect_x": math.inf, "min_detect_gy": math.inf,
             "undetectable": 0, "worst_torch_f32_case": "", "worst_seq_f32_case": ""}
    for d in dirs:
        rel = os.path.relpath(d, root)
        with open(os.path.join(d, "case.json")) as f:
            c = json.load(f)
        if c.get("expect_error"):
            stats["error"] += 1
            extra = [f for f in os.listdir(d) if f != "case.json"]
            if extra:
                problems.append(f"{rel}: unexpected files {extra}")
            shapes = {kk: c[kk] for kk in ("x_shape", "weight_shape", "bias_shape", "x_dtype")
                      if kk in c}
            viol = spec_violations(c, None, None, shapes)
            if viol != [c.get("rule")]:
                problems.append(f"{rel}: SPEC validator says {viol}, case claims {c.get('rule')}")
            raised, msg = pytorch_try(c)
            if c.get("spec_only"):
                stats["spec_only"] += 1
                if c["rule"] not in SPEC_ONLY_RULES:
                    problems.append(f"{rel}: spec_only on rule {c['rule']}")
            elif not raised:
                problems.append(f"{rel}: PyTorch does not raise")
            continue
        stats["valid"] += 1
        g, op = c["groups"], c["op"]
        k = c["kernel_size"]
        x32 = load(os.path.join(d, "x.npy"))
        n = x32.shape[0] if c["batched"] else 1
        spatial = list(x32.shape[-3:])
        if spec_violations(c, n, spatial, None):
            problems.append(f"{rel}: valid case breaks {spec_violations(c, n, spatial, None)}")
            continue
        wspec = spec_weight_shape(op, c["in_channels"], c["out_channels"], k, g)
        wt = torch_weight_shape(op, c["in_channels"], c["out_channels"], k, g)
        w32 = load(os.path.join(d, "weight.npy"))
        xs = ([n] if c["batched"] else []) + [c["in_channels"]] + spatial
        ys = ([n] if c["batched"] else []) + [c["out_channels"]] + out_spatial(c, spatial)
        st = {nm: load(os.path.join(d, nm + ".npy")) for nm in ("y", "gy", "gx", "gweight")}
        has_b = os.path.exists(os.path.join(d, "bias.npy"))
        if has_b != c["bias"] or os.path.exists(os.path.join(d, "gbias.npy")) != c["bias"]:
            problems.append(f"{rel}: bias files vs \"bias\": {c['bias']}")
            continue
        b32 = load(os.path.join(d, "bias.npy")) if has_b else None
        if has_b:
            st["gbias"] = load(os.path.join(d, "gbias.npy"))
        expect = {"x": (x32, xs), "weight": (w32, wspec), "y": (st["y"], ys),
                  "gy": (st["gy"], ys), "gx": (st["gx"], xs), "gweight": (st["gweight"], wspec)}
        if has_b:
            expect["bias"] = (b32, [1, c["out_channels"], 1, 1, 1])
            expect["gbias"] = (st["gbias"], [1, c["out_channels"], 1, 1, 1])
        bad = [nm for nm, (a, s) in expect.items() if list(a.shape) != list(s)]
        if bad:
            problems.append(f"{rel}: wrong shapes {bad}")
            continue
        if "output_size" in c and out_spatial(c, spatial) != c["output_size"]:
            problems.append(f"{rel}: output_size inconsistent with output_padding")
        atol, rtol = c["atol"], c["rtol"]
        r_need = tolerance(reduction_length(c, n, spatial))
        if (atol, rtol) != r_need:
            problems.append(f"{rel}: tolerance {atol, rtol} != rule {r_need}")
        w32t = w32.reshape(wt)
        b1 = b32.reshape(-1) if has_b else None
        ref = dict(zip(("y", "gx", "gweight", "gbias"), reference(c, x32, w32t, b1, st["gy"])))
        names = ["y", "gx", "gweight"] + (["gbias"] if has_b else [])
        # (2) stored vs fresh float64
        rr = max(mismatch(ref[nm].reshape(st[nm].shape), st[nm], atol, rtol) for nm in names)
        stats["worst_recompute"] = max(stats["worst_recompute"], rr)
        if rr > 1:
            problems.append(f"{rel}: stored refs differ from float64 recomputation ({rr:.3g})")
        if all(np.array_equal(ref[nm].astype(np.float32).reshape(st[nm].shape), st[nm])
               for nm in names):
            stats["bit_identical"] += 1
        with torch.no_grad():
            ym = module_forward(c, torch.from_numpy(x32).double(),
                                torch.from_numpy(w32t).double(),
                                torch.from_numpy(b1).double() if has_b else None).numpy()
        if mismatch(ym, st["y"], atol, rtol) > 1:
            problems.append(f"{rel}: torch.nn module path disagrees")
        # (3a) PyTorch float32
        xt = torch.from_numpy(x32).requires_grad_()
        wtt = torch.from_numpy(w32t.copy()).requires_grad_()
        bt = torch.from_numpy(b1.copy()).requires_grad_() if has_b else None
        y32 = forward(c, xt, wtt, bt)
        ins = [xt, wtt] + ([bt] if has_b else [])
        g32 = torch.autograd.grad((y32 * torch.from_numpy(st["gy"])).sum(), ins,
                                  allow_unused=True)
        g32 = [torch.zeros_like(t) if gr is None else gr for t, gr in zip(ins, g32)]
        got32 = {"y": y32.detach().numpy(), "gx": g32[0].numpy(), "gweight": g32[1].numpy()}
        if has_b:
            got32["gbias"] = g32[2].numpy()
        r32 = max(mismatch(got32[nm].reshape(st[nm].shape), st[nm], atol, rtol) for nm in names)
        if r32 > stats["worst_torch_f32"]:
            stats["worst_torch_f32"], stats["worst_torch_f32_case"] = r32, rel
        if r32 > 1:
            problems.append(f"{rel}: PyTorch float32 fails the tolerance ({r32:.3g})")
        # (3b) sequential float32 accumulation
        stored_flat = {nm: st[nm] for nm in names}
        rs = seq_sum_check(c, x32, w32t, b1, st["gy"], stored_flat, atol, rtol, rng)
        if rs > stats["worst_seq_f32"]:
            stats["worst_seq_f32"], stats["worst_seq_f32_case"] = rs, rel
        if rs > 1:
            problems.append(f"{rel}: sequential float32 sum fails the tolerance ({rs:.3g})")
        # (4) perturbations must be detected
        if st["y"].size == 0:
            stats["undetectable"] += 1
            continue
        xt64 = torch.from_numpy(x32).double()
        # most-used weight element / x element (sensitivity through |x|, |w|)
        wsens = torch.zeros(wt, dtype=torch.float64, requires_grad=True)
        s_out = forward(c, xt64.abs(), wsens, None).sum()
        sw = torch.autograd.grad(s_out, wsens)[0]
        xsens = torch.zeros(xs, dtype=torch.float64, requires_grad=True)
        s_out = (forward(c, xsens, torch.from_numpy(w32t).double().abs(), None) *
                 torch.from_numpy(st["gy"]).double().abs()).sum()
        sx = torch.autograd.grad(s_out, xsens)[0]
        for what, arr, sens, checks, key in (
                ("w", w32t, sw, ("y", "gx"), "min_detect_w"),
                ("x", x32, sx, ("y", "gweight"), "min_detect_x"),
                ("gy", st["gy"], None, ("gbias",) if has_b else (), "min_detect_gy")):
            if not checks:
                continue
            a = arr.copy()
            idx = int(torch.argmax(sens.reshape(-1))) if sens is not None else 0
            if sens is not None and float(sens.reshape(-1)[idx]) == 0:
                continue
            a.reshape(-1)[idx] += np.float32(PERTURB)
            args = {"w": (x32, w32t, st["gy"]), "x": (x32, w32t, st["gy"]),
                    "gy": (x32, w32t, st["gy"])}[what]
            xx, ww, gg = args
            if what == "w":
                ww = a
            elif what == "x":
                xx = a
            else:
                gg = a
            pr = dict(zip(("y", "gx", "gweight", "gbias"), reference(c, xx, ww, b1, gg)))
            for nm in checks:
                m = mismatch(pr[nm].reshape(st[nm].shape), st[nm], atol, rtol)
                stats[key] = min(stats[key], m)
                if m <= 1:
                    problems.append(f"{rel}: perturbing one {what} element is not detected "
                                    f"in {nm} ({m:.3g})")
    print(f"cases: {len(dirs)} ({stats['valid']} valid, {stats['error']} expect_error, "
          f"{stats['spec_only']} of them SPEC-only)")
    print(f"stored vs fresh float64 recomputation: worst ratio {stats['worst_recompute']:.3g} "
          f"(bit-identical in {stats['bit_identical']}/{stats['valid']} cases)")
    print(f"PyTorch float32 vs stored: worst ratio {stats['worst_torch_f32']:.3g} (must be < 1) "
          f"in {stats['worst_torch_f32_case']}")
    print(f"emulated left-to-right float32 sums vs stored: worst ratio "
          f"{stats['worst_seq_f32']:.3g} (must be < 1) in {stats['worst_seq_f32_case']}")
    print(f"single-element {PERTURB} perturbation detection, smallest ratio (must be > 1): "
          f"weight {stats['min_detect_w']:.3g}, x {stats['min_detect_x']:.3g}, "
          f"gy {stats['min_detect_gy']:.3g}; {stats['undetectable']} empty-output cases skipped")
    for p in problems:
        print("PROBLEM", p)
    print("verify:", "OK" if not problems else f"{len(problems)} problems")
    return not problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", help="write the case set into this folder")
    ap.add_argument("--verify", metavar="DIR", help="self-check a case set")
    ap.add_argument("--random", type=int, default=200, help="number of random sweep cases")
    a = ap.parse_args()
    if not a.out and not a.verify:
        ap.error("give --out DIR and/or --verify DIR")
    ok = True
    if a.out:
        generate(a.out, a.random)
    if a.verify:
        ok = verify(a.verify)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
