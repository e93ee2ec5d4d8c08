#!/usr/bin/python3
"""Writes tests/golden/kit_core.json: PyTorch 1.13 references for voxgrad's
int64 labels, indexing ops, softmax family, classification and robust
losses and Embedding (tests/autograd/test_kit_core_golden.cpp reads it).

Run with Debian's Python, which has torch 1.13 (a pyenv `python3` may not):
    /usr/bin/python3 tools/gen_kit_core_golden.py

Seeded and float64, so a rerun reproduces the file. Float inputs are drawn
in float32 and widened, so they are exact in both dtypes and the float32
run of a case sees the same values (ties stay ties). Each case names a
function ("fn", implemented on both sides), its config, its inputs (float
ones may take a gradient), its outputs, an upstream gradient per float
output, and the gradients of sum_k <out_k, gy_k> for every input that takes
one. A case with "error" records that PyTorch refused the inputs; voxgrad
must refuse them too (a voxgrad::Error). Non-finite values are written as
the strings "nan", "inf", "-inf" (JSON has no such numbers).
"""

import json
import math
import os

import torch
import torch.nn.functional as F

SEED = 2024
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                   "golden", "kit_core.json")

torch.manual_seed(SEED)
D = torch.float64


def num(v):
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


def T(t):
    t = torch.as_tensor(t).detach()
    if t.dtype == torch.int64:
        return {"dtype": "int64", "shape": list(t.shape),
                "data": [int(v) for v in t.reshape(-1).tolist()]}
    return {"dtype": "float", "shape": list(t.shape),
            "data": [num(float(v)) for v in t.reshape(-1).tolist()]}


def randn(*shape, scale=1.0):
    return (torch.randn(tuple(shape), dtype=torch.float32) * scale).to(D)


def uniform(lo, hi, *shape):
    return (torch.rand(tuple(shape), dtype=torch.float32) * (hi - lo) + lo).to(D)


def probs(*shape, dim=1):
    return torch.softmax(randn(*shape), dim).float().to(D)


CASES = []


def case(name, fn, config, inputs, call, grad=None):
    """inputs: list of (name, tensor); float ones take a gradient unless
    listed in `grad` (None = all float inputs). call(*tensors) returns a
    tensor or a tuple of tensors."""
    names = [n for n, _ in inputs]
    ts = []
    for n, t in inputs:
        t = t.clone()
        if t.is_floating_point() and (grad is None or n in grad):
            t.requires_grad_(True)
        ts.append(t)
    record = {"name": name, "fn": fn, "config": config,
              "inputs": {n: T(t) for n, t in zip(names, ts)}}
    try:
        out = call(*ts)
    except (RuntimeError, IndexError, ValueError) as e:
        record["error"] = str(e).splitlines()[0]
        CASES.append(record)
        return
    outs = list(out) if isinstance(out, tuple) else [out]
    record["outputs"] = [T(o) for o in outs]
    wrt = [(n, t) for n, t in zip(names, ts) if t.requires_grad]
    float_outs = [o for o in outs if o.is_floating_point()]
    if wrt and float_outs:
        gys = [randn(*o.shape) for o in float_outs]
        s = sum((o * g).sum() for o, g in zip(float_outs, gys))
        grads = torch.autograd.grad(s, [t for _, t in wrt], allow_unused=True)
        record["gys"] = [T(g) for g in gys]
        record["grads"] = {n: T(g if g is not None else torch.zeros_like(t))
                           for (n, t), g in zip(wrt, grads)}
    CASES.append(record)


def idx(*values):
    return torch.tensor(values, dtype=torch.int64)


def ints(lo, hi, *shape):
    return torch.randint(lo, hi, shape, dtype=torch.int64)


# ---- int64 factories and conversions ---------------------------------------
case("arange int64", "arange_int64", {"start": -7, "end": 12, "step": 3}, [],
     lambda: torch.arange(-7, 12, 3))
case("to int64 truncates toward zero", "to_int64", {},
     [("x", torch.tensor([2.75, -2.75, 0.5, -0.5, 7.0, -1e10], dtype=D))],
     lambda x: x.detach().to(torch.int64))
case("int64 comparisons", "compare_int64", {},
     [("a", idx(3, -1, 5, 9, 0, 2)), ("b", idx(3, 0, 4, 9, 1, -2))],
     lambda a, b: (torch.eq(a, b).long(), torch.lt(a, b).long(),
                   torch.ge(a, b).long()))

# ---- index_select / index_add ---------------------------------------------
x = randn(3, 5, 4)
case("index_select dim 1 repeats", "index_select", {"dim": 1},
     [("x", x), ("index", idx(4, 0, 0, 2, 4, 4))],
     lambda x, i: torch.index_select(x, 1, i))
case("index_select dim 0", "index_select", {"dim": 0},
     [("x", x), ("index", idx(2, 2, 1))],
     lambda x, i: torch.index_select(x, 0, i))
case("index_select last dim, negative dim", "index_select", {"dim": -1},
     [("x", x), ("index", idx(3, 1))],
     lambda x, i: torch.index_select(x, -1, i))
case("index_select 1-d", "index_select", {"dim": 0},
     [("x", randn(7)), ("index", idx(6, 0, 3, 3, 6))],
     lambda x, i: torch.index_select(x, 0, i))
case("index_select empty index", "index_select", {"dim": 1},
     [("x", randn(2, 3)), ("index", torch.zeros(0, dtype=torch.int64))],
     lambda x, i: torch.index_select(x, 1, i))
case("index_select out of range", "index_select", {"dim": 1},
     [("x", x), ("index", idx(0, 5))],
     lambda x, i: torch.index_select(x, 1, i))
case("index_select negative index", "index_select", {"dim": 1},
     [("x", x), ("index", idx(0, -1))],
     lambda x, i: torch.index_select(x, 1, i))
case("index_add dim 0 repeats", "index_add", {"dim": 0, "alpha": 1.0},
     [("self", randn(4, 3)), ("index", idx(1, 3, 1, 1, 0)),
      ("source", randn(5, 3))],
     lambda s, i, src: torch.index_add(s, 0, i, src))
case("index_add dim 1 alpha 2.5", "index_add", {"dim": 1, "alpha": 2.5},
     [("self", randn(2, 4, 3)), ("index", idx(3, 0, 3)),
      ("source", randn(2, 3, 3))],
     lambda s, i, src: torch.index_add(s, 1, i, src, alpha=2.5))

# ---- gather / scatter / scatter_add ----------------------------------------
x = randn(2, 5, 3)
case("gather dim 1 repeats", "gather", {"dim": 1},
     [("x", x), ("index", ints(0, 5, 2, 7, 3))],
     lambda x, i: torch.gather(x, 1, i))
case("gather dim 0, index smaller", "gather", {"dim": 0},
     [("x", x), ("index", ints(0, 2, 3, 4, 2))],
     lambda x, i: torch.gather(x, 0, i))
case("gather dim -1", "gather", {"dim": -1},
     [("x", x), ("index", ints(0, 3, 2, 5, 6))],
     lambda x, i: torch.gather(x, -1, i))
case("gather 1-d", "gather", {"dim": 0},
     [("x", randn(6)), ("index", idx(5, 5, 0, 2))],
     lambda x, i: torch.gather(x, 0, i))
case("gather out of range", "gather", {"dim": 1},
     [("x", x), ("index", idx(0, 5).reshape(1, 2, 1))],
     lambda x, i: torch.gather(x, 1, i))
case("gather index larger on another axis", "gather", {"dim": 1},
     [("x", x), ("index", torch.zeros(3, 1, 1, dtype=torch.int64))],
     lambda x, i: torch.gather(x, 1, i))
case("scatter_add dim 1 heavy repeats", "scatter_add", {"dim": 1},
     [("self", randn(2, 4, 3)), ("index", ints(0, 4, 2, 9, 3)),
      ("src", randn(2, 9, 3))],
     lambda s, i, src: torch.scatter_add(s, 1, i, src))
case("scatter_add dim 0", "scatter_add", {"dim": 0},
     [("self", randn(3, 4)), ("index", ints(0, 3, 5, 4)),
      ("src", randn(5, 4))],
     lambda s, i, src: torch.scatter_add(s, 0, i, src))
case("scatter_add index smaller than src", "scatter_add", {"dim": 1},
     [("self", randn(3, 4, 3)), ("index", ints(0, 4, 2, 2, 3)),
      ("src", randn(3, 4, 3))],
     lambda s, i, src: torch.scatter_add(s, 1, i, src), grad=["self"])
case("scatter_add out of range", "scatter_add", {"dim": 0},
     [("self", randn(3, 4)), ("index", idx(0, 3).reshape(2, 1)),
      ("src", randn(2, 1))],
     lambda s, i, src: torch.scatter_add(s, 0, i, src))
perm = torch.stack([torch.randperm(5)[:4] for _ in range(6)]).reshape(2, 3, 4)
perm = perm.permute(0, 2, 1).contiguous()  # unique along dim 1
case("scatter dim 1 unique", "scatter", {"dim": 1},
     [("self", randn(2, 5, 3)), ("index", perm), ("src", randn(2, 4, 3))],
     lambda s, i, src: torch.scatter(s, 1, i, src))
case("scatter value", "scatter_value", {"dim": 1, "value": -1.5},
     [("self", randn(2, 5, 3)), ("index", perm)],
     lambda s, i: torch.scatter(s, 1, i, -1.5))

# ---- take_along_dim, masked_fill, one_hot -----------------------------------
x = randn(3, 4, 5)
case("take_along_dim broadcast", "take_along_dim", {"dim": 1},
     [("x", x), ("indices", ints(0, 4, 3, 2, 1))],
     lambda x, i: torch.take_along_dim(x, i, 1))
case("take_along_dim broadcast indices", "take_along_dim", {"dim": 2},
     [("x", x), ("indices", ints(0, 5, 1, 4, 3))],
     lambda x, i: torch.take_along_dim(x, i, 2))
case("take_along_dim flattened", "take_along_dim", {},
     [("x", x), ("indices", idx(59, 0, 17, 17))],
     lambda x, i: torch.take_along_dim(x, i))
case("masked_fill broadcast mask", "masked_fill", {"value": -2.5},
     [("x", randn(3, 4)), ("mask", idx(1, 0, 0, 1))],
     lambda x, m: torch.masked_fill(x, m.bool(), -2.5))
case("one_hot num_classes 5", "one_hot", {"num_classes": 5},
     [("labels", idx(0, 4, 2, 2, 1, 0).reshape(2, 3))],
     lambda l: F.one_hot(l, 5))
case("one_hot inferred", "one_hot", {"num_classes": -1},
     [("labels", idx(3, 0, 1))], lambda l: F.one_hot(l))
case("one_hot label too large", "one_hot", {"num_classes": 3},
     [("labels", idx(0, 3))], lambda l: F.one_hot(l, 3))
case("one_hot negative label", "one_hot", {"num_classes": 3},
     [("labels", idx(0, -1))], lambda l: F.one_hot(l, 3))

# ---- arg-reductions, max/min(dim), amax/amin, topk (ties) ------------------
tied = torch.tensor([[1.0, 3.0, 3.0, -2.0, 3.0],
                     [0.5, 0.5, -4.0, -4.0, 0.25],
                     [2.0, 2.0, 2.0, 2.0, 2.0]], dtype=D)
for dim in (None, 0, 1):
    for keep in (False, True):
        if dim is None and keep:
            continue
        cfg = {"keepdim": keep} if dim is None else {"dim": dim, "keepdim": keep}
        case(f"argmax ties dim {dim} keepdim {keep}", "argmax", cfg,
             [("x", tied)],
             lambda x, d=dim, k=keep: torch.argmax(x.detach(), d, k)
             if d is not None else torch.argmax(x.detach()))
        case(f"argmin ties dim {dim} keepdim {keep}", "argmin", cfg,
             [("x", tied)],
             lambda x, d=dim, k=keep: torch.argmin(x.detach(), d, k)
             if d is not None else torch.argmin(x.detach()))
for dim in (0, 1, -1):
    for keep in (False, True):
        case(f"max dim {dim} keepdim {keep} ties", "max_dim",
             {"dim": dim, "keepdim": keep}, [("x", tied)],
             lambda x, d=dim, k=keep: tuple(torch.max(x, d, k)))
        case(f"min dim {dim} keepdim {keep} ties", "min_dim",
             {"dim": dim, "keepdim": keep}, [("x", tied)],
             lambda x, d=dim, k=keep: tuple(torch.min(x, d, k)))
x3 = torch.round(randn(2, 3, 4) * 2) / 2  # many ties
case("max dim 1 of 3-d", "max_dim", {"dim": 1, "keepdim": False},
     [("x", x3)], lambda x: tuple(torch.max(x, 1)))
case("amax axes 0,2 ties", "amax", {"dims": [0, 2], "keepdim": False},
     [("x", x3)], lambda x: torch.amax(x, (0, 2)))
case("amin axis 1 keepdim ties", "amin", {"dims": [1], "keepdim": True},
     [("x", x3)], lambda x: torch.amin(x, 1, True))
case("amin all", "amin", {"dims": [], "keepdim": False},
     [("x", tied)], lambda x: torch.amin(x))
distinct = randn(3, 7)
for k, dim, largest in ((3, 1, True), (2, 1, False), (2, 0, True),
                        (7, -1, True), (0, 1, True)):
    case(f"topk k {k} dim {dim} largest {largest}", "topk",
         {"k": k, "dim": dim, "largest": largest}, [("x", distinct)],
         lambda x, k=k, d=dim, l=largest: tuple(torch.topk(x, k, d, l)))
case("topk k too large", "topk", {"k": 8, "dim": 1, "largest": True},
     [("x", distinct)], lambda x: tuple(torch.topk(x, 8, 1)))

# ---- softmax, log_softmax, logsumexp ----------------------------------------
for shape, dim, scale in (((4, 7), 1, 1.0), ((4, 7), 0, 1.0), ((5, 1), 1, 1.0),
                          ((3, 17), -1, 30.0), ((2, 33), 1, 1.0),
                          ((2, 3, 4, 5, 3), 1, 4.0), ((3, 5, 7), 1, 100.0),
                          ((6,), 0, 1.0), ((2, 3, 1, 2, 9), 4, 1.0)):
    x = randn(*shape, scale=scale)
    tag = f"{list(shape)} dim {dim} scale {scale}"
    case(f"softmax {tag}", "softmax", {"dim": dim}, [("x", x)],
         lambda x, d=dim: torch.softmax(x, d))
    case(f"log_softmax {tag}", "log_softmax", {"dim": dim}, [("x", x)],
         lambda x, d=dim: torch.log_softmax(x, d))
inf_row = torch.tensor([[0.5, -math.inf, 1.5, -math.inf],
                        [-math.inf, -math.inf, 2.0, -1.0]], dtype=D)
case("log_softmax with -inf logits", "log_softmax", {"dim": 1},
     [("x", inf_row)], lambda x: torch.log_softmax(x, 1), grad=[])
case("softmax with -inf logits", "softmax", {"dim": 1},
     [("x", inf_row)], lambda x: torch.softmax(x, 1))
case("softmax all -inf row is nan", "softmax", {"dim": 1},
     [("x", torch.full((1, 3), -math.inf, dtype=D))],
     lambda x: torch.softmax(x, 1), grad=[])
x = randn(2, 3, 4, scale=20.0)
case("logsumexp dims 0,2", "logsumexp", {"dims": [0, 2], "keepdim": False},
     [("x", x)], lambda x: torch.logsumexp(x, (0, 2)))
case("logsumexp dim 1 keepdim", "logsumexp", {"dims": [1], "keepdim": True},
     [("x", x)], lambda x: torch.logsumexp(x, 1, True))
case("logsumexp -inf rows", "logsumexp", {"dims": [1], "keepdim": False},
     [("x", torch.tensor([[-math.inf, -math.inf], [1.0, -math.inf]],
                         dtype=D))], lambda x: torch.logsumexp(x, 1), grad=[])


# ---- cross_entropy, nll_loss -------------------------------------------------
def ce_case(name, x, t, weight=None, ignore_index=-100, reduction="mean",
            label_smoothing=0.0):
    cfg = {"ignore_index": ignore_index, "reduction": reduction,
           "label_smoothing": label_smoothing}
    inputs = [("input", x), ("target", t)]
    if weight is not None:
        inputs.append(("weight", weight))
    case(name, "cross_entropy", cfg, inputs,
         lambda x, t, w=None: F.cross_entropy(
             x, t, weight=w, ignore_index=ignore_index, reduction=reduction,
             label_smoothing=label_smoothing),
         grad=["input"] + ([] if t.dtype == torch.int64 else ["target"]))


def nll_case(name, x, t, weight=None, ignore_index=-100, reduction="mean"):
    cfg = {"ignore_index": ignore_index, "reduction": reduction}
    inputs = [("input", x), ("target", t)]
    if weight is not None:
        inputs.append(("weight", weight))
    case(name, "nll_loss", cfg, inputs,
         lambda x, t, w=None: F.nll_loss(
             x, t, weight=w, ignore_index=ignore_index, reduction=reduction),
         grad=["input"])


w5 = uniform(0.2, 2.0, 5)
x2 = randn(6, 5, scale=2.0)
t2 = idx(0, 4, 2, 2, 1, 3)
t2i = idx(0, 4, -100, 2, 1, -100)
for red in ("mean", "sum", "none"):
    ce_case(f"cross_entropy (N, C) {red}", x2, t2, reduction=red)
    ce_case(f"cross_entropy (N, C) weight ignore {red}", x2, t2i, w5,
            reduction=red)
    ce_case(f"cross_entropy (N, C) smoothing 0.2 weight ignore {red}", x2, t2i,
            w5, reduction=red, label_smoothing=0.2)
    nll_case(f"nll_loss (N, C) weight ignore {red}",
             torch.log_softmax(x2, 1), t2i, w5, reduction=red)
ce_case("cross_entropy ignore_index 2", x2, t2, ignore_index=2)
ce_case("cross_entropy label_smoothing 1", x2, t2, label_smoothing=1.0)
ce_case("cross_entropy large logits", randn(4, 9, scale=200.0),
        ints(0, 9, 4))
ce_case("cross_entropy all ignored mean is nan", x2,
        torch.full((6,), -100, dtype=torch.int64))
ce_case("cross_entropy all ignored smoothing mean is nan", x2,
        torch.full((6,), -100, dtype=torch.int64), label_smoothing=0.1)
xv = randn(2, 4, 3, 5, 2, scale=2.0)
tv = ints(0, 4, 2, 3, 5, 2)
tv[0, 1, 2, 1] = 255
tv[1, 0, 0, 0] = 255
w4 = uniform(0.5, 1.5, 4)
for red in ("mean", "sum", "none"):
    ce_case(f"cross_entropy per-voxel (N, C, D, H, W) {red}", xv, tv, w4,
            ignore_index=255, reduction=red, label_smoothing=0.1)
    nll_case(f"nll_loss per-voxel {red}", torch.log_softmax(xv, 1), tv, w4,
             ignore_index=255, reduction=red)
ce_case("cross_entropy per-voxel 17 classes", randn(1, 17, 2, 3, 3),
        ints(0, 17, 1, 2, 3, 3))
ce_case("cross_entropy (N, C, L)", randn(3, 4, 6), ints(0, 4, 3, 6),
        label_smoothing=0.3)
ce_case("cross_entropy unbatched (C)", randn(5), idx(3).reshape(()), w5)
ce_case("cross_entropy unbatched none", randn(5), idx(1).reshape(()),
        reduction="none", label_smoothing=0.05)
nll_case("nll_loss unbatched", torch.log_softmax(randn(5), 0),
         idx(4).reshape(()))
pt = probs(6, 5)
for red in ("mean", "sum", "none"):
    ce_case(f"cross_entropy probabilities {red}", x2, pt, w5, reduction=red,
            label_smoothing=0.15)
ce_case("cross_entropy probabilities per-voxel", xv, probs(2, 4, 3, 5, 2))
ce_case("cross_entropy probabilities unbatched", randn(5), probs(5, dim=0))
ce_case("cross_entropy target out of range", x2, idx(0, 5, 1, 1, 1, 1))
ce_case("cross_entropy negative target", x2, idx(0, -1, 1, 1, 1, 1))
ce_case("cross_entropy ignore_index with probabilities", x2, pt,
        ignore_index=1)
nll_case("nll_loss target out of range", torch.log_softmax(x2, 1),
         idx(0, 7, 1, 1, 1, 1))

# ---- kl_div, huber_loss, smooth_l1_loss -------------------------------------
lp = torch.log_softmax(randn(4, 5), 1)
for red in ("mean", "sum", "none", "batchmean"):
    tgt = probs(4, 5)
    tgt[0, 2] = 0.0
    case(f"kl_div {red}", "kl_div", {"reduction": red, "log_target": False},
         [("input", lp), ("target", tgt)],
         lambda i, t, r=red: F.kl_div(i, t, reduction=r), grad=["input"])
    case(f"kl_div log_target {red}", "kl_div",
         {"reduction": red, "log_target": True},
         [("input", lp), ("target", torch.log(probs(4, 5)))],
         lambda i, t, r=red: F.kl_div(i, t, reduction=r, log_target=True))
case("kl_div target gradient", "kl_div",
     {"reduction": "batchmean", "log_target": False},
     [("input", lp), ("target", probs(4, 5))],
     lambda i, t: F.kl_div(i, t, reduction="batchmean"))
a = randn(3, 7, scale=2.0)
b = randn(3, 7, scale=2.0)
for red in ("mean", "sum", "none"):
    for delta in (1.0, 0.35, 3.0):
        case(f"huber_loss delta {delta} {red}", "huber_loss",
             {"reduction": red, "delta": delta},
             [("input", a), ("target", b)],
             lambda i, t, r=red, d=delta: F.huber_loss(i, t, reduction=r,
                                                       delta=d))
    for beta in (1.0, 0.35, 0.0):
        case(f"smooth_l1_loss beta {beta} {red}", "smooth_l1_loss",
             {"reduction": red, "beta": beta},
             [("input", a), ("target", b)],
             lambda i, t, r=red, bb=beta: F.smooth_l1_loss(
                 i, t, reduction=r, beta=bb))
case("huber_loss delta 0 refused", "huber_loss",
     {"reduction": "mean", "delta": 0.0}, [("input", a), ("target", b)],
     lambda i, t: F.huber_loss(i, t, delta=0.0))
case("smooth_l1_loss negative beta refused", "smooth_l1_loss",
     {"reduction": "mean", "beta": -1.0}, [("input", a), ("target", b)],
     lambda i, t: F.smooth_l1_loss(i, t, beta=-1.0))


# ---- embedding ----------------------------------------------------------------
def emb_case(name, weight, indices, padding_idx=None, max_norm=None,
             norm_type=2.0, scale_grad_by_freq=False):
    cfg = {"padding_idx": padding_idx, "max_norm": max_norm,
           "norm_type": norm_type, "scale_grad_by_freq": scale_grad_by_freq}

    def call(w, i):
        out = F.embedding(i, w, padding_idx=padding_idx, max_norm=max_norm,
                          norm_type=norm_type,
                          scale_grad_by_freq=scale_grad_by_freq)
        return out, w.detach().clone()  # the weight after renormalisation

    case(name, "embedding", cfg, [("weight", weight), ("indices", indices)],
         call)


wt = randn(10, 4, scale=1.5)
emb_case("embedding 2-d indices", wt, ints(0, 10, 3, 5))
emb_case("embedding padding_idx 2", wt, idx(2, 5, 2, 9, 0, 5), padding_idx=2)
emb_case("embedding negative padding_idx", wt, idx(9, 1, 9, 3),
         padding_idx=-1)
emb_case("embedding scale_grad_by_freq", wt, idx(1, 1, 1, 4, 4, 7),
         scale_grad_by_freq=True, padding_idx=7)
emb_case("embedding max_norm 1", wt, idx(3, 3, 8, 0, 6), max_norm=1.0)
emb_case("embedding max_norm 0.5 norm_type 1", wt, idx(5, 2, 2),
         max_norm=0.5, norm_type=1.0)
emb_case("embedding 0-d index", wt, idx(4).reshape(()))
emb_case("embedding index out of range", wt, idx(0, 10))
emb_case("embedding negative index", wt, idx(0, -1))


def bag_case(name, weight, inp, offsets=None, mode="mean", psw=None,
             padding_idx=None, include_last_offset=False, max_norm=None):
    cfg = {"mode": mode, "padding_idx": padding_idx,
           "include_last_offset": include_last_offset, "max_norm": max_norm}
    inputs = [("weight", weight), ("input", inp)]
    if offsets is not None:
        inputs.append(("offsets", offsets))
    if psw is not None:
        inputs.append(("per_sample_weights", psw))
    names = [n for n, _ in inputs]

    def call(*ts):
        kw = dict(zip(names, ts))
        out = F.embedding_bag(kw["input"], kw["weight"], kw.get("offsets"),
                              max_norm=max_norm, mode=mode,
                              per_sample_weights=kw.get("per_sample_weights"),
                              include_last_offset=include_last_offset,
                              padding_idx=padding_idx)
        return out, kw["weight"].detach().clone()

    case(name, "embedding_bag", cfg, inputs, call)


wb = randn(8, 3, scale=1.5)
bag_in = idx(1, 2, 4, 5, 4, 3, 2, 0, 7, 7)
bag_off = idx(0, 2, 2, 5, 9)  # an empty bag, a one-index bag
for mode in ("sum", "mean", "max"):
    bag_case(f"embedding_bag {mode} offsets, empty bag", wb, bag_in, bag_off,
             mode=mode)
    bag_case(f"embedding_bag {mode} padding_idx 2", wb, bag_in, bag_off,
             mode=mode, padding_idx=2)
    bag_case(f"embedding_bag {mode} 2-d input", wb, ints(0, 8, 3, 4),
             mode=mode)
bag_case("embedding_bag sum per_sample_weights", wb, bag_in, bag_off,
         mode="sum", psw=uniform(0.1, 2.0, 10))
bag_case("embedding_bag mean include_last_offset", wb, bag_in,
         idx(0, 3, 3, 10), mode="mean", include_last_offset=True)
bag_case("embedding_bag max ties", torch.tensor(
    [[1.0, 2.0], [1.0, 3.0], [0.5, 3.0]], dtype=D), idx(0, 1, 2, 2, 1),
    idx(0, 3), mode="max")
bag_case("embedding_bag max_norm", wb, bag_in, bag_off, mode="sum",
         max_norm=1.0)
bag_case("embedding_bag offsets[0] not 0", wb, bag_in, idx(1, 4),
         mode="sum")
bag_case("embedding_bag per_sample_weights with mean", wb, bag_in, bag_off,
         mode="mean", psw=uniform(0.1, 2.0, 10))


def main():
    doc = {"generator": "tools/gen_kit_core_golden.py",
           "torch_version": torch.__version__, "seed": SEED,
           "cases": CASES}
    with open(OUT, "w") as f:
        json.dump(doc, f, indent=None, separators=(",", ":"))
        f.write("\n")
    errors = sum(1 for c in CASES if "error" in c)
    print(f"wrote {OUT}: {len(CASES)} cases ({errors} refusals)")


if __name__ == "__main__":
    main()
