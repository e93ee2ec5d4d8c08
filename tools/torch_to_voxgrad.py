#!/usr/bin/python3
"""Converts PyTorch weights to a voxgrad checkpoint, and back.

    /usr/bin/python3 tools/torch_to_voxgrad.py model.pt ckpt.json [--groups enc.conv=4 ...]
    /usr/bin/python3 tools/torch_to_voxgrad.py --to-torch ckpt.json model.pt

model.pt is either a state_dict saved with torch.save(model.state_dict(), ...)
or a whole module saved with torch.save(model, ...). From a module, the
tool knows which tensors are buffers and the groups of every conv layer;
from a bare state_dict it takes running_mean / running_var /
num_batches_tracked (and the names given with --buffer) as buffers and
everything else as parameters, and the groups of grouped convolutions from
--groups NAME=G. A state_dict cannot say whether a 5-D weight is a Conv3d's
or a ConvTranspose3d's, nor its groups, except in one case the tool detects:
a ConvTranspose3d whose bias is longer than its weight's first axis (out =
groups * weight.shape[1], so groups = len(bias) / weight.shape[1]). Every
other 5-D weight is taken as groups = 1 (listed in a note); voxgrad's load
then names the flag a grouped one needs (--groups NAME=G).

Layout changes (voxgrad's SPEC.md):
  * the bias of Conv3d / ConvTranspose3d is (1, C, 1, 1, 1) instead of (C,)
    (a bias whose sibling weight is 5-D, or of a conv module);
  * a grouped conv weight is the 6-D view (g, A/g, B, kd, kh, kw) of
    PyTorch's (A, B, kd, kh, kw) (same memory): Conv3d (g, C_out/g, C_in/g,
    k...), ConvTranspose3d (g, C_in/g, C_out/g, k...).
--to-torch undoes both (every 6-D weight is merged, every (1, C, 1, 1, 1)
bias flattened) and writes a state_dict of parameters and buffers.

Models under torch.nn.utils.spectral_norm (weight_orig, buffers weight_u and
weight_v) and weight_norm (weight_g, weight_v) convert as they are, for
voxgrad's nn::utils::spectral_norm / weight_norm keep PyTorch's names: a
conv's weight_orig or 5-D weight_v is its weight for the layout rules, and
in a bare state_dict X_u and X_v beside an X_orig are buffers.

num_batches_tracked, an int64 0-d tensor in PyTorch, is a float32 0-d
buffer in voxgrad's BatchNorm3d (voxgrad has no integer dtype yet; float32
counts exactly up to 2^24 batches): it is converted to float32, and
--to-torch turns it back into int64. float16/bfloat16 tensors become float32.

The checkpoint is the JSON form of NOTE [ Checkpoint format, version 1 ] in
voxgrad/nn/checkpoint.hpp: tensors as base64 of little-endian bytes, and an FNV-1a-64
checksum of the document's compact dump with sorted keys, which this tool
reproduces (nlohmann's number formatting included). Write .json (the CBOR form
needs the cbor2 module, which this tool does not assume).
"""
import argparse
import base64
import decimal
import json
import os
import sys

import numpy as np
import torch

FORMAT = "voxgrad-checkpoint"
VERSION = 1
BUFFER_SUFFIXES = ("running_mean", "running_var", "num_batches_tracked")
COUNTER = "num_batches_tracked"


# ---- the canonical dump and its checksum --------------------------------------

def _nlohmann_float(x):
    """The text nlohmann::json::dump() prints for a finite double."""
    if x == 0:
        return "-0.0" if np.signbit(x) else "0.0"
    sign = "-" if x < 0 else ""
    d = decimal.Decimal(repr(abs(x))).normalize()
    t = d.as_tuple()
    digits = "".join(map(str, t.digits))
    k = len(digits)
    n = k + t.exponent  # value = 0.digits * 10^n
    if k <= n <= 15:
        return sign + digits + "0" * (n - k) + ".0"
    if 0 < n <= 15:
        return sign + digits[:n] + "." + digits[n:]
    if -4 < n <= 0:
        return sign + "0." + "0" * (-n) + digits
    e = n - 1
    mant = digits if k == 1 else digits[0] + "." + digits[1:]
    return "%s%se%s%02d" % (sign, mant, "-" if e < 0 else "+", abs(e))


def canonical_dump(v):
    """nlohmann's dump() (compact, keys sorted, UTF-8, no ASCII escaping)."""
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if v != v or v in (float("inf"), float("-inf")):
            return "null"
        return _nlohmann_float(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ",".join(canonical_dump(x) for x in v) + "]"
    if isinstance(v, dict):
        keys = sorted(v, key=lambda s: s.encode("utf-8"))
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + canonical_dump(v[k])
                              for k in keys) + "}"
    raise TypeError("cannot serialise %r" % type(v))


def checksum(doc):
    body = {k: v for k, v in doc.items() if k != "checksum"}
    h = 14695981039346656037
    for b in canonical_dump(body).encode("utf-8"):
        h ^= b
        h = (h * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return "fnv1a64:%016x" % h


# ---- tensors --------------------------------------------------------------------

def encode(t):
    t = t.detach().cpu().contiguous()
    if t.dtype in (torch.float16, torch.bfloat16):
        t = t.float()
    if t.dtype == torch.float32:
        dtype, npt = "f32", "<f4"
    elif t.dtype == torch.float64:
        dtype, npt = "f64", "<f8"
    else:
        raise SystemExit("error: voxgrad tensors are float32 or float64, got %s" % t.dtype)
    data = t.numpy().astype(npt, copy=False).tobytes()
    return {"shape": list(t.shape), "dtype": dtype, "data": base64.b64encode(data).decode()}


def decode(name, entry):
    npt = {"f32": "<f4", "f64": "<f8"}.get(entry.get("dtype"))
    if npt is None:
        raise SystemExit("error: %s: dtype must be f32 or f64, got %r" % (name, entry.get("dtype")))
    raw = base64.b64decode(entry["data"], validate=True)
    shape = entry["shape"]
    if len(raw) != int(np.prod(shape, dtype=np.int64)) * np.dtype(npt).itemsize:
        raise SystemExit("error: %s: data length does not match shape %s" % (name, shape))
    return torch.from_numpy(np.frombuffer(raw, dtype=npt).reshape(shape).copy())


# ---- torch -> voxgrad -------------------------------------------------------------

# A conv's weight under torch.nn.utils.spectral_norm is "weight_orig", under
# weight_norm "weight_v" (voxgrad's reparametrisations keep these names).
WEIGHT_LEAVES = ("weight", "weight_orig", "weight_v")


def _spectral_norm_buffers(state):
    """spectral_norm's buffers X_u and X_v (siblings of a parameter X_orig)
    in a bare state_dict; weight_norm's X_v (beside X_g) is a parameter."""
    out = set()
    for n in state:
        for suffix in ("_u", "_v"):
            if n.endswith(suffix) and n[: -len(suffix)] + "_orig" in state:
                out.add(n)
    return out


def _conv_info_from_module(model):
    """{module name: groups} for every 3-D conv / conv-transpose module."""
    info = {}
    for name, m in model.named_modules():
        if isinstance(m, (torch.nn.Conv3d, torch.nn.ConvTranspose3d)):
            info[name] = m.groups
    return info


def to_voxgrad(obj, groups_arg, extra_buffers, source):
    notes = []
    if isinstance(obj, torch.nn.Module):
        state = obj.state_dict()
        buffer_names = {n for n, _ in obj.named_buffers()}
        convs = _conv_info_from_module(obj)
    elif isinstance(obj, dict):
        state = obj
        buffer_names = {n for n in state if n.rsplit(".", 1)[-1] in BUFFER_SUFFIXES}
        buffer_names |= _spectral_norm_buffers(state)
        convs = {}
        detected = {}
        for n, t in state.items():
            if n.rpartition(".")[2] in WEIGHT_LEAVES and torch.is_tensor(t) and t.dim() == 5:
                prefix = n.rpartition(".")[0]
                convs[prefix] = 1
                bias = state.get(prefix + ".bias")
                # Conv3d: len(bias) == weight.shape[0] (any groups). A longer
                # or shorter bias is a ConvTranspose3d's: out = g * shape[1].
                if torch.is_tensor(bias) and bias.dim() == 1 and \
                        bias.shape[0] != t.shape[0] and \
                        bias.shape[0] % t.shape[1] == 0 and \
                        t.shape[0] % (bias.shape[0] // t.shape[1]) == 0:
                    detected[prefix] = bias.shape[0] // t.shape[1]
        for prefix, g in detected.items():
            if prefix in groups_arg and groups_arg[prefix] != g:
                raise SystemExit(
                    "error: --groups %s=%d, but %s.bias (%d) and %s.weight %s say "
                    "a ConvTranspose3d with groups=%d" %
                    (prefix, groups_arg[prefix], prefix, state[prefix + ".bias"].shape[0],
                     prefix, tuple(state[prefix + ".weight"].shape), g))
            if g > 1 and prefix not in groups_arg:
                notes.append("%s: groups=%d detected (a ConvTranspose3d: its bias has "
                             "groups * weight.shape[1] entries)" % (prefix, g))
            convs[prefix] = g
        assumed = sorted(p for p in convs if p not in detected and p not in groups_arg)
        if assumed:
            notes.append("a bare state_dict does not say the groups of a conv: %s taken "
                         "as groups=1; pass --groups NAME=G for a grouped one (voxgrad's "
                         "load names it)" % ", ".join(assumed))
    else:
        raise SystemExit("error: expected a state_dict or an nn.Module, got %s" % type(obj))
    buffer_names |= set(extra_buffers)
    for prefix, g in groups_arg.items():
        if prefix not in convs:
            raise SystemExit("error: --groups %s=%d: no 5-D conv weight '%s.weight'" %
                             (prefix, g, prefix))
        if isinstance(obj, torch.nn.Module) and convs[prefix] != g:
            raise SystemExit("error: --groups %s=%d, but the module has groups=%d" %
                             (prefix, g, convs[prefix]))
        convs[prefix] = g

    params, buffers = {}, {}
    for name, t in state.items():
        prefix, _, leaf = name.rpartition(".")
        if leaf == COUNTER and torch.is_tensor(t) and not t.is_floating_point():
            if t.numel() != 1 or not 0 <= int(t) <= 2**24:
                raise SystemExit("error: %s: a count of 0 .. 2^24 (float32 holds it exactly), "
                                 "got %s" % (name, t.tolist()))
            t = t.to(torch.float32)
        if prefix in convs and leaf == "bias" and t.dim() == 1:
            t = t.reshape(1, -1, 1, 1, 1)
        if prefix in convs and leaf in WEIGHT_LEAVES and t.dim() == 5 and convs[prefix] > 1:
            g = convs[prefix]
            if t.shape[0] % g:
                raise SystemExit("error: %s: %d is not divisible by groups %d" %
                                 (name, t.shape[0], g))
            t = t.reshape(g, t.shape[0] // g, *t.shape[1:])
        (buffers if name in buffer_names else params)[name] = encode(t)

    doc = {
        "format": FORMAT,
        "version": VERSION,
        "params": params,
        "buffers": buffers,
        "optimizer": None,
        "metadata": {"converted_from": os.path.basename(source),
                     "torch_version": torch.__version__},
    }
    doc["checksum"] = checksum(doc)
    return doc, notes


# ---- voxgrad -> torch -------------------------------------------------------------

def to_torch(doc, verify=True):
    if doc.get("format") != FORMAT or doc.get("version") != VERSION:
        raise SystemExit("error: not a voxgrad checkpoint version %d (format %r, version %r)" %
                         (VERSION, doc.get("format"), doc.get("version")))
    if verify and doc.get("checksum") != checksum(doc):
        raise SystemExit("error: checksum mismatch: the file says %r, its content hashes to %r "
                         "(pass --no-verify to convert anyway)" % (doc.get("checksum"),
                                                                    checksum(doc)))
    state = {}
    for section in ("params", "buffers"):
        for name, entry in doc[section].items():
            t = decode(name, entry)
            if name.endswith("bias") and t.dim() == 5 and t.shape[0] == 1 and \
                    all(s == 1 for s in t.shape[2:]):
                t = t.reshape(-1)
            if t.dim() == 6:
                t = t.reshape(t.shape[0] * t.shape[1], *t.shape[2:])
            if name.rpartition(".")[2] == COUNTER and t.dim() == 0:
                t = t.to(torch.int64)  # PyTorch's dtype for the counter
            state[name] = t
    return state


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--to-torch", action="store_true",
                    help="convert a voxgrad checkpoint (src) to a PyTorch state_dict (dst)")
    ap.add_argument("--groups", action="append", default=[], metavar="NAME=G",
                    help="groups of the conv module NAME (state_dict input only)")
    ap.add_argument("--buffer", action="append", default=[], metavar="NAME",
                    help="treat this state_dict entry as a buffer")
    ap.add_argument("--no-verify", action="store_true",
                    help="with --to-torch: do not check the checksum")
    args = ap.parse_args(argv)

    if args.to_torch:
        if args.src.lower().endswith(".cbor"):
            raise SystemExit("error: read .json checkpoints (CBOR needs the cbor2 module)")
        with open(args.src, "rb") as f:
            doc = json.loads(f.read().decode("utf-8"))
        state = to_torch(doc, verify=not args.no_verify)
        torch.save(state, args.dst)
        print("wrote %s: %d tensors" % (args.dst, len(state)))
        return 0

    if args.dst.lower().endswith(".cbor"):
        raise SystemExit("error: write a .json checkpoint (CBOR needs the cbor2 module)")
    groups = {}
    for g in args.groups:
        name, _, value = g.partition("=")
        if not value.isdigit() or int(value) < 1:
            raise SystemExit("error: --groups wants NAME=G with G >= 1, got %r" % g)
        groups[name] = int(value)
    obj = torch.load(args.src, map_location="cpu")
    doc, notes = to_voxgrad(obj, groups, args.buffer, args.src)
    for n in notes:
        print("note:", n, file=sys.stderr)
    # Compact, like voxgrad::save; the checksum is over the parsed value, so
    # any valid spelling would do.
    with open(args.dst, "w", encoding="utf-8") as f:
        f.write(canonical_dump(doc))
    print("wrote %s: %d params, %d buffers" % (args.dst, len(doc["params"]), len(doc["buffers"])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
