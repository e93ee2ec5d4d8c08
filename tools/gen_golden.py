#!/usr/bin/python3
"""Writes tests/golden/autograd.json: PyTorch 1.13 references for composite
functions of voxgrad's ops (values and gradients), including a gradient
penalty ||grad_x f||^2 that needs double backward through conv3d.

Run with Debian's Python, which has torch:
    /usr/bin/python3 tools/gen_golden.py            # writes tests/golden/autograd.json
Everything is float64 and seeded, so a rerun reproduces the file.
tests/autograd/test_golden.cpp implements the same functions and compares.
"""
import json
import os
import sys

import torch
import torch.nn.functional as F

SEED = 1234


def t(x):
    return {"shape": list(x.shape), "data": [float(v) for v in x.detach().reshape(-1).tolist()]}


def elementwise(x, y):
    z = torch.tanh(x * y + 1) * torch.sigmoid(x) - torch.log(torch.exp(x) + 1)
    z = z + torch.sqrt(x * x + 1) / (torch.abs(y) + 1)
    z = z + F.leaky_relu(x, 0.1) * F.silu(y) + F.softplus(x, beta=2.0, threshold=3.0)
    z = z + torch.clamp(x, -0.5, 0.5) + torch.maximum(x, 0.3 * y) - torch.minimum(x, -0.2 * y)
    z = z + torch.relu(x) * torch.pow(torch.abs(x) + 0.5, 1.5) + torch.pow(torch.abs(y) + 0.5, x)
    z = z + torch.where(x > 0, x, 2 * y) - (x - y) / (x * x + 2)
    return z.sum()


def reductions(x):
    s = torch.amax(x, dim=1).sum() + torch.var(x, dim=(0, 2)).mean()
    s = s + torch.logsumexp(x, dim=2).sum() + x.mean(dim=(0, 1), keepdim=True).sum()
    c = torch.cat([x, 2 * x], dim=1).permute(2, 0, 1).reshape(4, -1)[:, 1::2]
    s = s + (c * c).sum() + F.pad(x, (1, 2, 0, 1), value=0.3).pow(2).sum()
    s = s + torch.stack([x, -x], 0).abs().mean() + x.transpose(0, 2).contiguous().view(-1)[3:17].sum()
    return s


def matmuls(a, b, v):
    return (torch.matmul(a, b).tanh() * 0.5).sum() + torch.matmul(v, b).pow(2).sum() + torch.matmul(a, v).sum()


def conv_penalty(x, w, b):
    f = F.softplus(F.conv3d(x, w, b.reshape(-1), stride=2, padding=1)).sum()
    (gx,) = torch.autograd.grad(f, x, create_graph=True)
    return (gx * gx).sum()


def mlp_penalty(x, w1, w2):
    h = torch.sigmoid(torch.matmul(x, w1)) * torch.tanh(x).sum(dim=1, keepdim=True)
    f = (torch.matmul(h, w2) ** 2).sum() + F.softplus(h).mean()
    (gx,) = torch.autograd.grad(f, x, create_graph=True)
    return (gx * gx).sum()


def case(fn, **inputs):
    for v in inputs.values():
        v.requires_grad_(True)
    out = fn(*inputs.values())
    grads = torch.autograd.grad(out, list(inputs.values()))
    return {"inputs": {k: t(v) for k, v in inputs.items()}, "output": t(out),
            "grads": {k: t(g) for k, g in zip(inputs, grads)}}


def main():
    torch.manual_seed(SEED)
    d = torch.float64
    cases = {
        "elementwise": case(elementwise, x=torch.randn(3, 4, dtype=d), y=torch.randn(4, dtype=d)),
        "reductions": case(reductions, x=torch.randn(2, 3, 4, dtype=d)),
        "matmul": case(matmuls, a=torch.randn(2, 3, 4, dtype=d), b=torch.randn(4, 5, dtype=d),
                       v=torch.randn(4, dtype=d)),
        "conv_gradient_penalty": case(conv_penalty, x=torch.randn(2, 2, 5, 4, 6, dtype=d),
                                      w=torch.randn(3, 2, 3, 3, 3, dtype=d) * 0.3,
                                      b=torch.randn(1, 3, 1, 1, 1, dtype=d)),
        "mlp_gradient_penalty": case(mlp_penalty, x=torch.randn(4, 3, dtype=d),
                                     w1=torch.randn(3, 5, dtype=d), w2=torch.randn(5, 2, dtype=d)),
    }
    doc = {"generator": "tools/gen_golden.py", "torch_version": torch.__version__, "seed": SEED,
           "dtype": "float64", "cases": cases}
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "golden", "autograd.json")
    with open(out, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print(f"wrote {os.path.normpath(out)} ({len(cases)} cases, torch {torch.__version__})", file=sys.stderr)


if __name__ == "__main__":
    main()
