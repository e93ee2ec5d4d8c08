#!/usr/bin/python3
"""Self time per op class of a training step, voxgrad beside PyTorch (issue 12).

Both profilers name ops differently (voxgrad's `conv3d_bwd_weight`, PyTorch's
`aten::convolution_backward` under `ConvolutionBackward0`), so each op is put
in one of a few classes a reader can compare across the two:

    conv        Conv3d / ConvTranspose3d, forward and both gradients
    linear      matmul / Linear (GEMM), forward and backward
    activation  LeakyReLU, ReLU, ELU, ... and their backwards
    loss        the loss functions (BCE with logits, ...) and their backwards
    optimizer   the optimizer's update (Adam, SGD)
    other       everything else: elementwise ops, reductions, copies, the
                autograd engine's own work, the profiler's overhead

Usage (the inputs are what `voxgrad-bench --model M --profile` and
`bench/torch_models.py --model M --profile` print; scripts/model_bench.sh
with PROFILE=1 writes them):

    /usr/bin/python3 bench/op_classes.py --voxgrad vox.txt --torch torch.txt \
        --steps 9

prints a Markdown table: ms per step of each class in each framework and the
ratio PyTorch / voxgrad (> 1: voxgrad faster). A profiler slows small ops more
than large ones (PyTorch's more than voxgrad's), so read the small classes
as upper bounds on both sides; the step medians come from the timed runs.
"""
import argparse
import re
import sys

CLASSES = ["conv", "linear", "activation", "loss", "optimizer", "other"]

# The first pattern that matches a name (lower-cased) gives its class.
_PATTERNS = [
    ("optimizer", re.compile(r"optimizer\.step|adam|sgd|zero_grad")),
    ("conv", re.compile(r"conv")),
    ("linear", re.compile(r"matmul|addmm|\bmm\b|aten::mm|aten::linear|linear|mmbackward|bmm")),
    ("loss", re.compile(r"cross_entropy|crossentropy|mse_loss|mseloss|l1_loss|nll")),
    ("activation", re.compile(r"leaky_relu|leakyrelu|\brelu|aten::relu|elu|gelu|silu|sigmoid_backward|tanh_backward")),
]


def classify(name):
    low = name.lower()
    for cls, pat in _PATTERNS:
        if pat.search(low):
            return cls
    return "other"


def voxgrad_classes(text):
    """Self ms per class from voxgrad's profiler table ("profile of ..." up
    to the "recorded" line): rows are name, kind, phase, calls, self ms, ..."""
    out = dict.fromkeys(CLASSES, 0.0)
    inside = False
    for line in text.splitlines():
        if line.startswith("profile of"):
            inside = True
            continue
        if not inside:
            continue
        if line.startswith("recorded"):
            break
        f = line.split()
        if len(f) < 6 or f[0] == "name":
            continue
        name, kind = f[0], f[1]
        try:
            self_ms = float(f[4])
        except ValueError:
            continue
        # Module rows' self time is the module's own bookkeeping; autograd
        # nodes ("backward") are the engine's: both are "other".
        cls = classify(name) if kind == "op" else "other"
        out[cls] += self_ms
    return out


def torch_event_class(ev):
    """An event's class: the optimizer if it runs inside Optimizer.step,
    else the outermost enclosing op (or backward function) with a class, so
    aten::sigmoid inside binary_cross_entropy_with_logits counts as loss and
    aten::mm inside AddmmBackward0 as linear."""
    chain = []
    e = ev
    while e is not None:
        chain.append(e.name)
        e = e.cpu_parent
    if any(n.startswith("Optimizer.") for n in chain):
        return "optimizer"
    for name in reversed(chain):
        cls = classify(name)
        if cls != "other":
            return cls
    return "other"


def torch_classes(events):
    """Self ms per class over a torch.profiler event list."""
    out = dict.fromkeys(CLASSES, 0.0)
    for ev in events:
        out[torch_event_class(ev)] += ev.self_cpu_time_total / 1000.0
    return out


def format_torch_classes(classes):
    """The lines torch_models.py --profile prints (read back by main)."""
    return "\n".join(f"op_class {c} {classes[c]:.3f}" for c in CLASSES)


def parse_torch_classes(text):
    out = dict.fromkeys(CLASSES, 0.0)
    for line in text.splitlines():
        f = line.split()
        if len(f) == 3 and f[0] == "op_class" and f[1] in out:
            out[f[1]] = float(f[2])
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--voxgrad", required=True, help="voxgrad-bench --profile output")
    p.add_argument("--torch", required=True, help="torch_models.py --profile output")
    p.add_argument("--steps", type=int, required=True,
                   help="steps each profile covers (--reps)")
    a = p.parse_args()
    if a.steps <= 0:
        sys.exit(f"op_classes.py: --steps {a.steps} must be positive")
    try:
        with open(a.voxgrad) as f:
            vox = voxgrad_classes(f.read())
        with open(a.torch) as f:
            tor = parse_torch_classes(f.read())
    except OSError as e:
        sys.exit(f"op_classes.py: cannot read {e.filename}: {e.strerror}")
    if sum(vox.values()) == 0 or sum(tor.values()) == 0:
        sys.exit("op_classes.py: no profile table found in "
                 + (a.voxgrad if sum(vox.values()) == 0 else a.torch))
    print("| op class | voxgrad ms/step | PyTorch ms/step | PyTorch / voxgrad |")
    print("|---|---|---|---|")
    for c in CLASSES + ["total"]:
        v = sum(vox.values()) if c == "total" else vox[c]
        t = sum(tor.values()) if c == "total" else tor[c]
        v /= a.steps
        t /= a.steps
        ratio = f"{t / v:.2f}" if v > 0 else "–"
        print(f"| {c} | {v:.2f} | {t:.2f} | {ratio} |")


if __name__ == "__main__":
    main()
