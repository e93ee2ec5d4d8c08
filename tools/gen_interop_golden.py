#!/usr/bin/python3
"""Writes the PyTorch -> voxgrad interop fixtures, through tools/torch_to_voxgrad.py:

    tests/golden/interop_tiny.ckpt.json   the converted checkpoint
    tests/golden/interop_tiny_io.json     input x and PyTorch's output y
    tests/golden/interop_bn.ckpt.json     BnNet's (BatchNorm3d), likewise
    tests/golden/interop_bn_io.json
    tests/golden/interop_sn.ckpt.json     SnNet's (spectral_norm, weight_norm)
    tests/golden/interop_sn_io.json

Run with Debian's Python, which has torch:
    /usr/bin/python3 tools/gen_interop_golden.py

The model has a grouped Conv3d, a grouped ConvTranspose3d and a 1x1x1 Conv3d
(so both layout changes of the converter are exercised: (1, C, 1, 1, 1)
biases and 6-D grouped weights). Its state_dict is saved with torch.save,
converted by the tool from the .pt file, converted back with --to-torch and
checked equal to the original, and the float32 model's output is recorded
(computed in float64 from the same float32 weights and input, so the C++
test can check its float64 run tightly and its float32 run to rounding).
tests/nn/test_checkpoint_interop.cpp loads the checkpoint into the same model
built from nn::Conv3d / nn::ConvTranspose3d and compares.

BnNet has a BatchNorm3d trained for BN_STEPS batches (so its running stats
and num_batches_tracked are not the initial ones; the output is the eval
mode's, which uses them) and a grouped ConvTranspose3d whose groups the tool
detects from its bias, so its state_dict converts without any flag.
"""
import json
import os
import subprocess
import sys
import tempfile

import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.join(HERE, "..", "tests", "golden")
SEED = 7


class TinyNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = nn.Conv3d(2, 4, 3, padding=1, groups=2)
        self.up = nn.ConvTranspose3d(4, 4, 2, stride=2, groups=2)
        self.head = nn.Conv3d(4, 1, 1)

    def forward(self, x):
        return self.head(torch.tanh(self.up(torch.tanh(self.enc(x)))))


BN_STEPS = 3


class BnNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = nn.Conv3d(2, 4, 3, padding=1)
        self.bn = nn.BatchNorm3d(4)
        # weight (4, 3, 2, 2, 2), bias (6,): groups = 6 / 3.
        self.up = nn.ConvTranspose3d(4, 6, 2, stride=2, groups=2)

    def forward(self, x):
        return self.up(torch.relu(self.bn(self.enc(x))))


SN_STEPS = 3


class SnNet(nn.Module):
    """torch.nn.utils.spectral_norm on a grouped Conv3d and a Linear,
    weight_norm on a grouped ConvTranspose3d: weight_orig / weight_u /
    weight_v and weight_g / weight_v in the state_dict."""

    def __init__(self):
        super().__init__()
        self.enc = nn.utils.spectral_norm(
            nn.Conv3d(2, 4, 3, padding=1, groups=2))
        self.up = nn.utils.weight_norm(
            nn.ConvTranspose3d(4, 6, 2, stride=2, groups=2))
        self.head = nn.utils.spectral_norm(nn.Linear(6, 2))

    def forward(self, x):
        h = torch.tanh(self.up(torch.tanh(self.enc(x))))
        return self.head(h.mean(dim=(2, 3, 4)))


def convert_and_check(model, name, flags):
    """Saves model's state_dict, converts it, converts it back, compares."""
    ckpt = os.path.join(GOLDEN, name + ".ckpt.json")
    with tempfile.TemporaryDirectory() as tmp:
        pt = os.path.join(tmp, name.split("_")[-1] + ".pt")
        torch.save(model.state_dict(), pt)
        tool = os.path.join(HERE, "torch_to_voxgrad.py")
        subprocess.run([sys.executable, tool, pt, ckpt] + flags, check=True)
        back = os.path.join(tmp, "back.pt")
        subprocess.run([sys.executable, tool, "--to-torch", ckpt, back], check=True)
        again = torch.load(back)
        orig = model.state_dict()
        assert again.keys() == orig.keys(), (again.keys(), orig.keys())
        for k in orig:
            assert again[k].dtype == orig[k].dtype, (k, again[k].dtype, orig[k].dtype)
            assert again[k].shape == orig[k].shape and torch.equal(again[k], orig[k]), k


def write_io(name, x, y):
    io = {
        "generator": "tools/gen_interop_golden.py",
        "torch_version": torch.__version__,
        "x": {"shape": list(x.shape), "data": [float(v) for v in x.reshape(-1).tolist()]},
        "y": {"shape": list(y.shape), "data": [float(v) for v in y.reshape(-1).tolist()]},
    }
    with open(os.path.join(GOLDEN, name + "_io.json"), "w") as f:
        json.dump(io, f, separators=(",", ":"))
        f.write("\n")


def batch_norm_model():
    torch.manual_seed(SEED)
    model = BnNet()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(BN_STEPS):
        opt.zero_grad()
        model(torch.randn(2, 2, 3, 3, 3) * 2 + 0.5).square().mean().backward()
        opt.step()
    model.eval()
    x = torch.rand(1, 2, 3, 3, 3) * 2 - 1
    with torch.no_grad():
        y = model.double()(x.double())
    model = model.float()
    assert int(model.bn.num_batches_tracked) == BN_STEPS
    convert_and_check(model, "interop_bn", [])
    write_io("interop_bn", x, y)


def spectral_norm_model():
    """SnNet trained for SN_STEPS (so weight_u / weight_v are power-iterated
    ones); its output is the eval mode's, which uses them as they are."""
    torch.manual_seed(SEED)
    model = SnNet()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(SN_STEPS):
        opt.zero_grad()
        model(torch.randn(2, 2, 3, 3, 3)).square().mean().backward()
        opt.step()
    model.eval()
    x = torch.rand(2, 2, 3, 3, 3) * 2 - 1
    with torch.no_grad():
        y = model.double()(x.double())
    model = model.float()
    # enc's groups are not in a bare state_dict; up's come from its bias.
    convert_and_check(model, "interop_sn", ["--groups", "enc=2"])
    write_io("interop_sn", x, y)


def main():
    batch_norm_model()
    spectral_norm_model()
    torch.manual_seed(SEED)
    model = TinyNet()
    x = torch.rand(1, 2, 3, 3, 3) * 2 - 1
    with torch.no_grad():
        y = model.double()(x.double())
    model = model.float()
    ckpt = os.path.join(GOLDEN, "interop_tiny.ckpt.json")
    with tempfile.TemporaryDirectory() as tmp:
        pt = os.path.join(tmp, "tiny.pt")
        torch.save(model.state_dict(), pt)
        tool = os.path.join(HERE, "torch_to_voxgrad.py")
        subprocess.run([sys.executable, tool, pt, ckpt, "--groups", "enc=2",
                        "--groups", "up=2"], check=True)
        back = os.path.join(tmp, "back.pt")
        subprocess.run([sys.executable, tool, "--to-torch", ckpt, back], check=True)
        again = torch.load(back)
        orig = model.state_dict()
        assert again.keys() == orig.keys(), (again.keys(), orig.keys())
        for k in orig:
            assert again[k].shape == orig[k].shape and torch.equal(again[k], orig[k]), k
    io = {
        "generator": "tools/gen_interop_golden.py",
        "torch_version": torch.__version__,
        "x": {"shape": list(x.shape), "data": [float(v) for v in x.reshape(-1).tolist()]},
        "y": {"shape": list(y.shape), "data": [float(v) for v in y.reshape(-1).tolist()]},
    }
    with open(os.path.join(GOLDEN, "interop_tiny_io.json"), "w") as f:
        json.dump(io, f, separators=(",", ":"))
        f.write("\n")
    print("wrote", os.path.normpath(ckpt), "and interop_tiny_io.json, interop_bn.*; "
          "--to-torch round trips exact")


if __name__ == "__main__":
    main()
