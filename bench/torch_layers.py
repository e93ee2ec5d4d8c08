#!/usr/bin/python3
"""PyTorch twin of `voxgrad-bench --layer`: the same layers, shapes, passes
and sampling (float32; warm-up calls, then R timed calls, the median and the
minimum), printed as the same JSON lines, to be run side by side:

    build/bin/voxgrad-bench --layer all --threads 2 --reps 11 --json
    /usr/bin/python3 bench/torch_layers.py --layer all --threads 2 --reps 11

fwd runs the layer under torch.no_grad(); bwd runs it on an input that
requires grad and torch.autograd.grad with an upstream gradient of ones (a
loss takes none), as bench/layer_bench.cpp does.
"""
import argparse
import json
import time

import torch
import torch.nn.functional as F

POOL = (8, 32, 32, 32, 32)
LOGITS = (8, 8, 32, 32, 32)


def cases():
    g = torch.Generator().manual_seed(7)
    labels = torch.randint(0, 8, (8, 32, 32, 32), generator=g)
    return {
        "max_pool_k2": (POOL, lambda x: F.max_pool3d(x, 2), False),
        "max_pool_k3s2p1": (POOL, lambda x: F.max_pool3d(x, 3, 2, 1), False),
        "avg_pool_k2": (POOL, lambda x: F.avg_pool3d(x, 2), False),
        "adaptive_avg_4": (POOL, lambda x: F.adaptive_avg_pool3d(x, 4), False),
        "adaptive_max_4": (POOL, lambda x: F.adaptive_max_pool3d(x, 4), False),
        "softmax_c8": (LOGITS, lambda x: torch.softmax(x, 1), False),
        "cross_entropy_c8": (LOGITS, lambda x: F.cross_entropy(x, labels),
                             True),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--layer", action="append", default=[])
    ap.add_argument("--pass", dest="passes", action="append", default=[],
                    choices=["fwd", "bwd"])
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--reps", type=int, default=11)
    ap.add_argument("--warmup", type=int, default=2)
    a = ap.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    all_cases = cases()
    layers = []
    for name in a.layer or ["all"]:
        layers += list(all_cases) if name == "all" else [name]
    for name in layers:
        shape, fn, loss = all_cases[name]
        x = torch.randn(shape, generator=torch.Generator().manual_seed(11))
        for p in a.passes or ["fwd", "bwd"]:
            if p == "fwd":
                def call():
                    with torch.no_grad():
                        fn(x)
            else:
                def call():
                    xg = x.detach().requires_grad_()
                    y = fn(xg)
                    torch.autograd.grad(
                        [y], [xg], None if loss else [torch.ones_like(y)])
            for _ in range(a.warmup):
                call()
            t = []
            for _ in range(a.reps):
                t0 = time.perf_counter()
                call()
                t.append((time.perf_counter() - t0) * 1e3)
            t.sort()
            print(json.dumps({"layer": name, "pass": p,
                              "threads": torch.get_num_threads(),
                              "median_ms": float(f"{t[len(t) // 2]:.4g}"),
                              "min_ms": float(f"{t[0]:.4g}"),
                              "reps": a.reps}), flush=True)


if __name__ == "__main__":
    main()
