"""The harness of the research kit's PyTorch 1.13 goldens (issue 11), shared
by the generators that write them (tools/gen_kit_golden.py,
tools/gen_reparam_golden.py) and read by tests/nn/kit_golden.hpp.

A case names a module (with its options and the state dict to load) or a
functional op, and one or more steps (inputs, train/eval). Every input,
parameter and upstream gradient is a float32 value stored as a double, so
the float64 and float32 runs start from the same numbers; each case is run
by PyTorch in both dtypes and both results are stored. Each step keeps every
output, an upstream gradient per floating output, the gradients of
sum(y * gy) for every input ("input0", ...) and parameter, buffers after the
step and, for index outputs, the int64 indices. The generator seeds torch
and appends to CASES through case() / op() / module(), then calls write().
"""

import json
import math
import os
import sys

import torch


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


def write(out, seed):
    """Writes CASES to `out` as the kit golden document."""
    doc = {"format": "voxgrad-kit-golden", "version": 1,
           "torch_version": torch.__version__, "seed": seed, "cases": CASES}
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {len(CASES)} cases, {os.path.getsize(out)} bytes to "
          f"{os.path.normpath(out)}", file=sys.stderr)
