#!/usr/bin/python3
"""Writes tests/golden/padding_modes.json: PyTorch 1.13 references for the
padding modes (tests/autograd/test_pad.cpp and tests/nn/test_padding_modes.cpp
read it).

Run with Debian's Python, which has torch 1.13 (a pyenv `python3` may not):
    /usr/bin/python3 tools/gen_padding_golden.py

Everything is float64 and seeded, so the file is reproducible.
  * "pad": F.pad(x, pads, mode) and its vector-Jacobian product, which is
    pad_adjoint(gy) (the transpose of the padding map).
  * "conv3d": nn.Conv3d(padding_mode=m) -- y and the gradients of sum(y * gy).
  * "conv_transpose3d": PyTorch has no ConvTranspose3d with a padding mode
    (pytorch#46027), so the reference is the definition (SPEC §1): the
    vector-Jacobian product of the padded Conv3d(out -> in) with the same
    weight, z = d<Conv3d_m(t), u>/dt, plus the bias; its gradients come from
    differentiating that product again (create_graph). For zeros the script
    asserts that this equals F.conv_transpose3d.
Weights are stored in PyTorch's 5-D layout; the test reshapes grouped ones to
the SPEC's 6-D layout. PyTorch 1.13's circular F.pad needs a batch axis, so
unbatched cases run with one added and removed.
"""

import json
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

SEED = 4321
OUT = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "tests", "golden",
    "padding_modes.json")
MODES = ("zeros", "reflect", "replicate", "circular")

torch.manual_seed(SEED)
torch.set_default_dtype(torch.float64)


def T(t):
    t = torch.as_tensor(t).detach()
    return {"shape": list(t.shape),
            "data": [float(v) for v in t.reshape(-1).tolist()]}


def trip(v):
    return [v] * 3 if isinstance(v, int) else list(v)


def fpad(x, pads, mode):
    """F.pad with an added batch axis where torch 1.13 needs one."""
    if mode == "circular" and x.dim() == len(pads) // 2 + 1:
        return F.pad(x.unsqueeze(0), pads, mode=mode).squeeze(0)
    return F.pad(x, pads, mode="constant" if mode == "zeros" else mode)


def pad_case(name, shape, pads, mode):
    x = torch.randn(shape, requires_grad=True)
    y = fpad(x, pads, mode)
    gy = torch.randn(y.shape)
    (gx,) = torch.autograd.grad(y, x, gy)
    return {"name": name, "mode": mode, "pads": list(pads), "x": T(x),
            "y": T(y), "gy": T(gy), "gx": T(gx)}


def pad_cases():
    cases = []
    for m in ("reflect", "replicate", "circular"):
        cases += [
            pad_case(f"{m} 5-D, 3 axes, asymmetric", (1, 2, 3, 4, 3),
                     (1, 2, 0, 3, 2, 1), m),
            pad_case(f"{m} 4-D unbatched, 3 axes", (2, 3, 4, 3),
                     (2, 1, 1, 0, 0, 2), m),
            pad_case(f"{m} 4-D, 2 axes", (2, 2, 4, 5), (3, 1, 2, 2), m),
            pad_case(f"{m} 3-D, 1 axis", (2, 3, 6), (4, 2), m),
        ]
    # The legal maxima: reflect size - 1, circular the size, replicate
    # anything (here twice the size).
    cases += [
        pad_case("reflect at size - 1", (1, 2, 3, 4, 2), (1, 1, 3, 3, 2, 2),
                 "reflect"),
        pad_case("circular at the size", (1, 1, 3, 4, 2), (2, 2, 4, 4, 3, 3),
                 "circular"),
        pad_case("replicate twice the size", (1, 2, 3, 1, 2),
                 (4, 3, 2, 1, 6, 5), "replicate"),
        pad_case("circular of size 1", (2, 1, 1, 1, 3), (0, 3, 1, 1, 1, 0),
                 "circular"),
    ]
    return cases


def conv_module(c, mode):
    return nn.Conv3d(c["in_channels"], c["out_channels"], c["kernel_size"],
                     c["stride"], c["padding"], c["dilation"], c["groups"],
                     c["bias"], padding_mode=mode)


def conv3d_case(name, mode, cin, cout, k, s=1, p=0, dil=1, g=1, bias=True,
                n=2, spatial=(4, 4, 4), batched=True):
    c = {"op": "conv3d", "in_channels": cin, "out_channels": cout,
         "kernel_size": trip(k), "stride": trip(s),
         "padding": p if isinstance(p, str) else trip(p),
         "output_padding": [0, 0, 0], "dilation": trip(dil), "groups": g,
         "bias": bias}
    n = n if batched else 1
    m = conv_module(c, mode)
    with torch.no_grad():
        for prm in m.parameters():
            prm.copy_(torch.randn(prm.shape) * 0.5)
    x = torch.randn([n, cin] + list(spatial), requires_grad=True)
    y = m(x)
    gy = torch.randn(y.shape)
    prms = [x, m.weight] + ([m.bias] if bias else [])
    grads = torch.autograd.grad(y, prms, gy)
    if not batched:
        x, y, gy = x[0], y[0], gy[0]
        grads = (grads[0][0],) + tuple(grads[1:])
    rec = dict(c, name=name, padding_mode=mode, batched=batched, x=T(x),
               weight=T(m.weight), y=T(y), gy=T(gy), gx=T(grads[0]),
               gweight=T(grads[1]))
    if bias:
        rec["bias_value"] = T(m.bias)
        rec["gbias"] = T(grads[2])
    return rec


def transposed_out(din, k, s, p, dil, op):
    return (din - 1) * s - 2 * p + dil * (k - 1) + op + 1


def conv_transpose3d_case(name, mode, cin, cout, k, s=1, p=0, op=0, dil=1, g=1,
                          bias=True, n=2, spatial=(3, 3, 3), batched=True):
    c = {"op": "conv_transpose3d", "in_channels": cin, "out_channels": cout,
         "kernel_size": trip(k), "stride": trip(s), "padding": trip(p),
         "output_padding": trip(op), "dilation": trip(dil), "groups": g,
         "bias": bias}
    n = n if batched else 1
    k3, s3, p3, d3, o3 = (c["kernel_size"], c["stride"], c["padding"],
                          c["dilation"], c["output_padding"])
    out = [transposed_out(spatial[i], k3[i], s3[i], p3[i], d3[i], o3[i])
           for i in range(3)]
    u = torch.randn([n, cin] + list(spatial), requires_grad=True)
    w = (torch.randn([cin, cout // g] + k3) * 0.5).requires_grad_()
    b = (torch.randn(cout) * 0.5).requires_grad_() if bias else None
    # The Conv3d(out -> in) this op is the adjoint of: the same weight.
    adj = {"in_channels": cout, "out_channels": cin, "kernel_size": k3,
           "stride": s3, "padding": p3, "dilation": d3, "groups": g,
           "bias": False}

    def z_of(u, w, b):
        t = torch.zeros([n, cout] + out, requires_grad=True)
        m = conv_module(adj, mode)
        del m.weight
        m.weight = w  # a plain tensor attribute: differentiable in w
        (z,) = torch.autograd.grad(m(t), t, u, create_graph=True)
        return z + b.reshape(1, -1, 1, 1, 1) if b is not None else z

    z = z_of(u, w, b)
    if mode == "zeros":
        want = F.conv_transpose3d(u, w, b, s3, p3, o3, g, d3)
        assert torch.allclose(z, want, rtol=1e-12, atol=1e-12), name
    gz = torch.randn(z.shape)
    prms = [u, w] + ([b] if bias else [])
    grads = torch.autograd.grad(z, prms, gz)
    if not batched:
        u, z, gz = u[0], z[0], gz[0]
        grads = (grads[0][0],) + tuple(grads[1:])
    rec = dict(c, name=name, padding_mode=mode, batched=batched, x=T(u),
               weight=T(w), y=T(z), gy=T(gz), gx=T(grads[0]),
               gweight=T(grads[1]))
    if bias:
        rec["bias_value"] = T(b)
        rec["gbias"] = T(grads[2])
    return rec


def conv_cases():
    cases = []
    for m in MODES:
        C = lambda name, *a, **kw: cases.append(  # noqa: E731
            conv3d_case(f"Conv3d {m}: {name}", m, *a, **kw))
        T_ = lambda name, *a, **kw: cases.append(  # noqa: E731
            conv_transpose3d_case(f"ConvTranspose3d {m}: {name}", m, *a, **kw))
        C("batched, padding 1", 3, 4, 3, p=1, n=2, spatial=(3, 4, 3))
        C("unbatched, asymmetric per-axis padding, stride, dilation", 2, 3,
          (3, 2, 3), s=(2, 1, 1), p=(1, 0, 2), dil=(1, 2, 1), bias=False,
          spatial=(5, 6, 4), batched=False)
        C("groups 2, strided", 4, 6, 3, s=2, p=(2, 1, 1), g=2, n=1,
          spatial=(5, 4, 6))
        C("depthwise, dilation 2", 3, 6, 3, p=2, dil=2, g=3, n=1,
          spatial=(3, 4, 5))
        # Largest legal padding (reflect: size - 1, circular: the size).
        top = {"zeros": (3, 4, 2), "reflect": (2, 3, 1),
               "replicate": (3, 4, 2), "circular": (3, 4, 2)}[m]
        C("padding at the legal maximum", 1, 2, 2, p=top, n=1,
          spatial=(3, 4, 2))
        C("'same', even kernel and dilation (asymmetric)", 2, 3, (3, 2, 4),
          p="same", dil=(1, 2, 1), n=1, spatial=(4, 5, 6))
        T_("seed-like, stride 2, output_padding 1", 3, 4, 3, s=2, p=1, op=1,
           n=1, spatial=(3, 3, 2))
        T_("unbatched, grouped, asymmetric triples", 4, 6, (3, 2, 3),
           s=(2, 1, 2), p=(1, 1, 2), op=(1, 0, 1), dil=(1, 2, 1), g=2,
           bias=False, spatial=(3, 4, 3), batched=False)
        T_("kernel 4, stride 2 (decoder)", 2, 3, 4, s=2, p=1, n=1,
           spatial=(3, 2, 3))
        # Output (2, 3, 2): reflect allows padding (1, 2, 1), circular
        # (2, 3, 2).
        tp = {"zeros": (1, 2, 1), "reflect": (1, 2, 1),
              "replicate": (2, 3, 2), "circular": (2, 3, 2)}[m]
        ks = [2 * tp[i] + (2, 3, 2)[i] for i in range(3)]  # stride 1
        T_("padding at the legal maximum of the output", 1, 2, ks, p=tp, n=1,
           spatial=(1, 1, 1))
    return cases


def main():
    # Zeros cases only check the reference pipeline here (the assert in
    # conv_transpose3d_case); tests/conformance covers zeros in depth.
    conv = [c for c in conv_cases() if c["padding_mode"] != "zeros"]
    doc = {"torch": torch.__version__, "seed": SEED, "dtype": "float64",
           "pad": pad_cases(), "conv": conv}
    with open(OUT, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {OUT}: {len(doc['pad'])} pad cases, {len(doc['conv'])} conv "
          f"cases, {os.path.getsize(OUT) / 1e3:.0f} kB")


if __name__ == "__main__":
    main()
