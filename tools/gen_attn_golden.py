#!/usr/bin/python3
"""Writes tests/golden/attention.json: PyTorch 1.13 references for
F::scaled_dot_product_attention and nn::MultiheadAttention (issue 11), with
the harness of tools/gen_kit_golden.py (same case format, read by
tests/nn/test_kit_golden.cpp).

    /usr/bin/python3 tools/gen_attn_golden.py

PyTorch 1.13 has no public F.scaled_dot_product_attention (it arrived in
2.0): its reference here is the formula PyTorch 2.x documents for it,
softmax(q k^T / sqrt(E) + bias) v with a boolean mask's False (and the
causal upper triangle) as -inf in bias, checked below against 1.13's private
torch._C._nn._scaled_dot_product_attention where both exist. A float mask is
an input of the case, so its gradient is compared too; boolean masks (int64
0/1 in voxgrad) are stored in the case's config. MultiheadAttention is
torch.nn.MultiheadAttention itself (the slow path: autograd is on).
"""

import math
import os
import sys

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_kit_golden as kit  # noqa: E402  (runs the kit's cases, writes nothing)

SEED = 20261202
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                   "golden", "attention.json")

kit.CASES.clear()
torch.manual_seed(SEED)
randn, T = kit.randn, kit.T


def sdpa(q, k, v, attn_mask=None, is_causal=False, scale=None):
    """PyTorch 2.x's documented reference of scaled_dot_product_attention."""
    L, S = q.size(-2), k.size(-2)
    bias = torch.zeros(L, S, dtype=q.dtype)
    if is_causal:
        keep = torch.ones(L, S, dtype=torch.bool).tril(diagonal=0)
        bias = bias.masked_fill(keep.logical_not(), float("-inf"))
    if attn_mask is not None:
        if attn_mask.dtype == torch.bool:
            bias = bias.masked_fill(attn_mask.logical_not(), float("-inf"))
        else:
            bias = bias + attn_mask
    qs = q / math.sqrt(q.size(-1)) if scale is None else q * scale
    w = torch.softmax(qs @ k.transpose(-2, -1) + bias, dim=-1)
    return w @ v


# The reference agrees with 1.13's private kernel on boolean masks.
_q, _k, _v = torch.randn(2, 3, 4), torch.randn(2, 5, 4), torch.randn(2, 5, 4)
_m = torch.rand(2, 3, 5) > 0.3
_m[..., 0] = True
if hasattr(torch._C._nn, "_scaled_dot_product_attention"):
    for args in [(None, False), (_m, False), (None, True)]:
        got = torch._C._nn._scaled_dot_product_attention(
            _q, _k, _v, args[0], 0.0, False, args[1])[0]
        assert torch.allclose(got, sdpa(_q, _k, _v, args[0], args[1]),
                              atol=1e-6), args


def bool_mask(*shape, p=0.35):
    """A random boolean mask with at least one True per row (last axis)."""
    m = torch.rand(*shape) > p
    m[..., 0] = True
    return m


def sdpa_op(name, q, k, v, mask=None, is_causal=False, scale=None):
    cfg = {"is_causal": is_causal, "scale": scale, "bool_mask": None}
    inputs = [q, k, v]
    if mask is not None and mask.dtype == torch.bool:
        cfg["bool_mask"] = T(mask)
        fn = lambda a, b, c: sdpa(a, b, c, mask, is_causal, scale)  # noqa
    elif mask is not None:
        inputs.append(mask)
        fn = lambda a, b, c, m: sdpa(a, b, c, m, is_causal, scale)  # noqa
    else:
        fn = lambda a, b, c: sdpa(a, b, c, None, is_causal, scale)  # noqa
    kit.op(name, "scaled_dot_product_attention", cfg, fn, inputs)


sdpa_op("sdpa (B, L, E), L != S, Ev != E",
        randn(2, 3, 4), randn(2, 5, 4), randn(2, 5, 3))
sdpa_op("sdpa float mask (L, S) broadcast, added and differentiated",
        randn(2, 3, 4), randn(2, 5, 4), randn(2, 5, 3), randn(3, 5))
sdpa_op("sdpa boolean mask (true = takes part), heads (N, H, L, E)",
        randn(2, 2, 3, 4), randn(2, 2, 5, 4), randn(2, 2, 5, 4),
        bool_mask(2, 1, 3, 5))
sdpa_op("sdpa causal, L < S", randn(2, 3, 4), randn(2, 5, 4),
        randn(2, 5, 2), is_causal=True)
sdpa_op("sdpa causal, L > S", randn(1, 6, 3), randn(1, 4, 3),
        randn(1, 4, 3), is_causal=True)
sdpa_op("sdpa scale 0.3, unbatched (L, E)", randn(4, 5), randn(6, 5),
        randn(6, 2), scale=0.3)
sdpa_op("sdpa large scores (max-subtracted softmax)",
        randn(1, 3, 4, scale=30.0), randn(1, 5, 4, scale=30.0),
        randn(1, 5, 3))


class MHA(nn.MultiheadAttention):
    """nn.MultiheadAttention called with fixed masks and flags; self
    attention takes one input (query = key = value, the packed path)."""

    def __init__(self, cfg, kpm, am):
        super().__init__(cfg["embed_dim"], cfg["num_heads"], dropout=0.0,
                         bias=cfg["bias"], add_bias_kv=cfg["add_bias_kv"],
                         add_zero_attn=cfg["add_zero_attn"],
                         kdim=cfg["kdim"], vdim=cfg["vdim"],
                         batch_first=cfg["batch_first"])
        self.cfg, self.kpm, self.am = cfg, kpm, am

    def forward(self, *xs):
        q, k, v = (xs[0],) * 3 if len(xs) == 1 else xs
        cast = lambda m: None if m is None else (  # noqa: E731
            m if m.dtype == torch.bool else m.to(q.dtype))
        out, w = super().forward(
            q, k, v, key_padding_mask=cast(self.kpm),
            need_weights=self.cfg["need_weights"], attn_mask=cast(self.am),
            average_attn_weights=self.cfg["average_attn_weights"])
        return out if w is None else (out, w)


def mha(name, inputs, kpm=None, am=None, training=True, **kw):
    E = kw.get("embed_dim", 8)
    cfg = {"embed_dim": E, "num_heads": kw.get("num_heads", 2),
           "bias": kw.get("bias", True),
           "add_bias_kv": kw.get("add_bias_kv", False),
           "add_zero_attn": kw.get("add_zero_attn", False),
           "kdim": kw.get("kdim", E), "vdim": kw.get("vdim", E),
           "batch_first": kw.get("batch_first", False),
           "need_weights": kw.get("need_weights", True),
           "average_attn_weights": kw.get("average_attn_weights", True),
           "self_attention": len(inputs) == 1,
           "key_padding_mask": None if kpm is None else T(kpm),
           "key_padding_mask_bool": kpm is not None and kpm.dtype == torch.bool,
           "attn_mask": None if am is None else T(am),
           "attn_mask_bool": am is not None and am.dtype == torch.bool}
    kit.module(name, "MultiheadAttention", cfg, lambda: MHA(cfg, kpm, am),
               [(inputs, training)])


L, S, N = 4, 5, 3
mha("mha self-attention (L, N, E), boolean key_padding_mask, per-head "
    "weights", [randn(L, N, 8)], kpm=~bool_mask(N, L),
    average_attn_weights=False)
mha("mha cross-attention, float attn_mask (L, S), averaged weights",
    [randn(L, N, 8), randn(S, N, 8), randn(S, N, 8)], am=randn(L, S))
mha("mha batch_first, boolean attn_mask (N * H, L, S) and key_padding_mask",
    [randn(N, L, 8), randn(N, S, 8), randn(N, S, 8)],
    kpm=~bool_mask(N, S), am=~bool_mask(N * 2, L, S), batch_first=True)
mha("mha batch_first self-attention, 4 heads, eval",
    [randn(2, 6, 8)], batch_first=True, num_heads=4, training=False)
mha("mha kdim 3, vdim 5 (separate projections), no bias",
    [randn(L, N, 8), randn(S, N, 3), randn(S, N, 5)], kdim=3, vdim=5,
    bias=False)
mha("mha add_bias_kv and add_zero_attn with both masks",
    [randn(L, N, 8), randn(S, N, 8), randn(S, N, 8)],
    kpm=~bool_mask(N, S), am=~bool_mask(L, S), add_bias_kv=True,
    add_zero_attn=True)
mha("mha unbatched (L, E) with key_padding_mask (S)",
    [randn(L, 8), randn(S, 8), randn(S, 8)], kpm=~bool_mask(S))
mha("mha float key_padding_mask, need_weights false",
    [randn(L, N, 8), randn(S, N, 8), randn(S, N, 8)],
    kpm=randn(N, S), need_weights=False)
_full = torch.zeros(N, S, dtype=torch.bool)
_full[1] = True
mha("mha a fully masked batch element gives NaN (PyTorch 1.13)",
    [randn(L, N, 8), randn(S, N, 8), randn(S, N, 8)], kpm=_full)

kit.write(kit.CASES, OUT, SEED)


# ---- a PyTorch MultiheadAttention state_dict through tools/torch_to_voxgrad.py
# (separate projections, bias_k / bias_v): tests/golden/interop_mha.ckpt.json
# and, for its input, PyTorch's float64 output and weights,
# tests/golden/interop_mha_io.json (tests/nn/test_attention.cpp).
import json  # noqa: E402

import gen_interop_golden as interop  # noqa: E402

torch.manual_seed(SEED + 1)
m = nn.MultiheadAttention(8, 2, kdim=3, vdim=5, add_bias_kv=True)
with torch.no_grad():
    for p in m.parameters():
        p.copy_(randn(*p.shape, scale=0.5))
interop.convert_and_check(m, "interop_mha", [])
xs = [randn(4, 2, 8), randn(5, 2, 3), randn(5, 2, 5)]
mask = ~bool_mask(2, 5)
m.double()
y, w = m(*xs, key_padding_mask=mask)
with open(os.path.join(interop.GOLDEN, "interop_mha_io.json"), "w") as f:
    json.dump({"generator": "tools/gen_attn_golden.py",
               "torch_version": torch.__version__,
               "inputs": [T(x) for x in xs], "key_padding_mask": T(mask),
               "output": T(y), "weights": T(w)}, f, separators=(",", ":"))
    f.write("\n")
