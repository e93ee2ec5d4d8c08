#!/usr/bin/python3
"""Writes tests/golden/optim.json: PyTorch 1.13 training runs of a small
Conv3d -> tanh -> ConvTranspose3d model for every optimizer configuration
voxgrad implements (llm.c's loss-curve test), plus LR-scheduler sequences.

Run with Debian's Python, which has torch (a pyenv python3 may shadow it):
    /usr/bin/python3 tools/gen_optim_golden.py      # writes tests/golden/optim.json

Model: Conv3d(2, 4, 3, stride=2, padding=1) -> tanh -> ConvTranspose3d(4, 2,
4, stride=2, padding=1) on x (2, 2, 6, 6, 6), loss = mean((y - target)^2).
Each run starts from the same initial parameters and takes STEPS steps:
zero_grad, loss, backward, [clip_grad_norm_], step, [scheduler.step]. It
records the loss and lr of every step and the final parameters.

Everything is seeded. Runs exist in float64 (compared tightly: only
summation order differs) and float32 (compared to float rounding). Tensors
are stored in voxgrad's layout (SPEC: bias (1, C, 1, 1, 1); groups == 1
weights as PyTorch's) under voxgrad's names: conv.weight, conv.bias,
deconv.weight, deconv.bias. float32 values are written with the shortest
text that reads back as the same float32. tests/optim/test_golden.cpp
replays it.
"""
import json
import os
import warnings

import numpy as np
import torch
import torch.nn as nn

warnings.filterwarnings("ignore")  # step(epoch) deprecation inside SequentialLR
torch.set_num_threads(1)

SEED = 20240601
STEPS = 12
NAMES = {"0.weight": "conv.weight", "0.bias": "conv.bias",
         "2.weight": "deconv.weight", "2.bias": "deconv.bias"}

# Each run: optimizer kind, its arguments, optional per-group arguments for
# the deconv parameters, optional clip max_norm, optional scheduler.
RUNS = [
    {"name": "sgd", "optimizer": "SGD", "options": {"lr": 0.5}},
    {"name": "sgd_nesterov_wd_clip", "optimizer": "SGD",
     "options": {"lr": 0.2, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-3},
     "clip_grad_norm": 0.05},
    {"name": "sgd_momentum_dampening_steplr", "optimizer": "SGD",
     "options": {"lr": 0.5, "momentum": 0.5, "dampening": 0.1},
     "scheduler": {"type": "StepLR", "step_size": 4, "gamma": 0.5}},
    {"name": "adam", "optimizer": "Adam", "options": {"lr": 0.01}},
    {"name": "adam_l2_amsgrad", "optimizer": "Adam",
     "options": {"lr": 0.01, "betas": [0.8, 0.99], "eps": 1e-6, "weight_decay": 0.01,
                 "amsgrad": True}},
    {"name": "adam_groups", "optimizer": "Adam", "options": {"lr": 0.01},
     "deconv_group": {"lr": 0.003, "weight_decay": 0.1}},
    {"name": "adamw", "optimizer": "AdamW", "options": {"lr": 0.01}},
    {"name": "adamw_amsgrad_warmup_cosine", "optimizer": "AdamW",
     "options": {"lr": 0.02, "weight_decay": 0.05, "amsgrad": True},
     "scheduler": {"type": "Sequential", "warmup": {"start_factor": 0.2, "total_iters": 3},
                   "cosine": {"T_max": 9, "eta_min": 0.001}, "milestone": 3}},
]

# Scheduler-only sequences: lr of group 0 after construction and each step.
SCHEDULES = [
    {"name": "steplr", "lr": 0.1, "type": "StepLR", "step_size": 3, "gamma": 0.3, "steps": 10},
    {"name": "cosine", "lr": 0.1, "type": "CosineAnnealingLR", "T_max": 7, "eta_min": 0.001,
     "steps": 30},
    {"name": "linear", "lr": 0.05, "type": "LinearLR", "start_factor": 0.25,
     "end_factor": 0.75, "total_iters": 6, "steps": 9},
    {"name": "warmup_cosine", "lr": 0.3, "type": "Sequential", "warmup":
     {"start_factor": 0.1, "total_iters": 4}, "cosine": {"T_max": 10, "eta_min": 0.0},
     "milestone": 4, "steps": 25},
]


def f64_list(t):
    return [float(v) for v in t.detach().double().reshape(-1).tolist()]


def f32_text(v):
    return float(np.format_float_positional(np.float32(v), unique=True, trim="-"))


def tensor(t, dtype):
    data = f64_list(t)
    if dtype == torch.float32:
        data = [f32_text(v) for v in data]
    return {"shape": list(t.shape), "data": data}


def voxgrad_layout(name, t):
    # SPEC: conv and conv-transpose biases are (1, C, 1, 1, 1).
    return t.reshape(1, -1, 1, 1, 1) if name.endswith("bias") else t


def make_model():
    return nn.Sequential(nn.Conv3d(2, 4, 3, stride=2, padding=1), nn.Tanh(),
                         nn.ConvTranspose3d(4, 2, 4, stride=2, padding=1))


def make_scheduler(opt, spec):
    S = torch.optim.lr_scheduler
    if spec["type"] == "StepLR":
        return S.StepLR(opt, spec["step_size"], spec["gamma"])
    if spec["type"] == "CosineAnnealingLR":
        return S.CosineAnnealingLR(opt, spec["T_max"], spec["eta_min"])
    if spec["type"] == "LinearLR":
        return S.LinearLR(opt, spec["start_factor"], spec["end_factor"], spec["total_iters"])
    warm = S.LinearLR(opt, spec["warmup"]["start_factor"], 1.0, spec["warmup"]["total_iters"])
    cos = S.CosineAnnealingLR(opt, spec["cosine"]["T_max"], spec["cosine"]["eta_min"])
    return S.SequentialLR(opt, [warm, cos], milestones=[spec["milestone"]])


def make_optimizer(model, run):
    kinds = {"SGD": torch.optim.SGD, "Adam": torch.optim.Adam, "AdamW": torch.optim.AdamW}
    opts = dict(run["options"])
    if "betas" in opts:
        opts["betas"] = tuple(opts["betas"])
    if "deconv_group" in run:
        groups = [{"params": list(model[0].parameters())},
                  dict(params=list(model[2].parameters()), **run["deconv_group"])]
        return kinds[run["optimizer"]](groups, **opts)
    return kinds[run["optimizer"]](model.parameters(), **opts)


def train(run, init, x, target, dtype):
    model = make_model().to(dtype)
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(init[name].to(dtype))
    opt = make_optimizer(model, run)
    sched = make_scheduler(opt, run["scheduler"]) if "scheduler" in run else None
    x, target = x.to(dtype), target.to(dtype)
    losses, lrs, norms = [], [], []
    for _ in range(STEPS):
        opt.zero_grad()
        loss = torch.mean((model(x) - target) ** 2)
        loss.backward()
        if "clip_grad_norm" in run:
            norms.append(float(nn.utils.clip_grad_norm_(model.parameters(),
                                                        run["clip_grad_norm"])))
        lrs.append([g["lr"] for g in opt.param_groups])
        opt.step()
        if sched is not None:
            sched.step()
        losses.append(float(loss))
    out = dict(run)
    out.update({
        "dtype": "float32" if dtype == torch.float32 else "float64",
        "losses": losses,
        "lrs": lrs,
        "final": {NAMES[n]: tensor(voxgrad_layout(n, p), dtype)
                  for n, p in model.named_parameters()},
    })
    if norms:
        out["clip_norms"] = norms
    return out


def schedule(spec):
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=spec["lr"])
    sched = make_scheduler(opt, spec)
    lrs = [opt.param_groups[0]["lr"]]
    for _ in range(spec["steps"]):
        opt.step()
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    out = dict(spec)
    out["lrs"] = lrs
    return out


def main():
    torch.manual_seed(SEED)
    model = make_model().double()
    init = {n: p.detach().clone() for n, p in model.named_parameters()}
    # Inputs and initial parameters are float32-representable, so the float32
    # and float64 runs start from the same values.
    for n in init:
        init[n] = init[n].float().double()
    x = torch.rand(2, 2, 6, 6, 6, dtype=torch.float32).mul(2).sub(1).double()
    target = torch.rand(2, 2, 6, 6, 6, dtype=torch.float32).mul(0.5).double()

    doc = {
        "generator": "tools/gen_optim_golden.py",
        "torch_version": torch.__version__,
        "seed": SEED,
        "steps": STEPS,
        "x": tensor(x, torch.float32),
        "target": tensor(target, torch.float32),
        "init": {NAMES[n]: tensor(voxgrad_layout(n, t), torch.float32)
                 for n, t in init.items()},
        "runs": [train(run, init, x, target, dt)
                 for dt in (torch.float64, torch.float32) for run in RUNS],
        "schedules": [schedule(s) for s in SCHEDULES],
    }
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "golden",
                        "optim.json")
    with open(path, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    print("wrote", os.path.normpath(path), os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()
