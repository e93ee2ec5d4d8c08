#!/usr/bin/python3
"""Writes tests/golden/npy/: .npy files made by NumPy itself, which
voxgrad::load_npy must read (tests/core/test_npy.cpp) and, for the C-order
version 1.0 ones, which voxgrad::save_npy must reproduce byte for byte.

Run with Debian's python3-numpy (the build and the tests never need Python):
    /usr/bin/python3 tools/gen_npy_golden.py
Every array holds k * 0.5 - 3 at flat C-order index k, so a test can rebuild
it from its shape alone. manifest.json lists each file's shape, dtype, order,
format version and header length.
"""
import json
import os
import struct

import numpy as np
import numpy.lib.format as fmt

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                   "golden", "npy")


def values(shape, dtype):
    n = int(np.prod(shape, dtype=np.int64))
    return (np.arange(n, dtype=np.float64) * 0.5 - 3).astype(dtype).reshape(shape)


def write(name, shape, dtype, fortran=False, version=None):
    a = values(shape, dtype)
    if fortran:
        a = np.asfortranarray(a)
    path = os.path.join(OUT, name)
    with open(path, "wb") as f:
        if version is None:
            np.save(f, a)  # what users write: numpy.save's own choice
        else:
            fmt.write_array(f, a, version=version)
    raw = open(path, "rb").read()
    major = raw[6]
    hlen = struct.unpack("<H" if major == 1 else "<I",
                         raw[8:10] if major == 1 else raw[8:12])[0]
    back = np.load(path)  # NumPy reads what it wrote
    assert back.shape == tuple(shape) and (back == values(shape, dtype)).all()
    return {"file": name, "shape": list(shape), "dtype": np.dtype(dtype).name,
            "fortran_order": fortran and a.ndim > 1 and a.flags.f_contiguous
            and not a.flags.c_contiguous, "version": [raw[6], raw[7]],
            "header_len": hlen}


def main():
    os.makedirs(OUT, exist_ok=True)
    long_shape = [1] * 30 + [2, 3]  # 32 extents: the header is > 128 bytes
    cases = [
        write("f4_2x3.npy", [2, 3], "<f4"),
        write("f8_2x3.npy", [2, 3], "<f8"),
        write("f4_5.npy", [5], "<f4"),
        write("f4_0d.npy", [], "<f4"),
        write("f8_0d.npy", [], "<f8"),
        write("f4_empty_0.npy", [0], "<f4"),
        write("f4_empty_3x0x2.npy", [3, 0, 2], "<f4"),
        write("f4_conv_2x1x3x2x2.npy", [2, 1, 3, 2, 2], "<f4"),
        write("f8_big_first_extent.npy", [1000, 2], "<f8"),
        write("f4_long_header_32d.npy", long_shape, "<f4"),
        write("f4_fortran_3x4.npy", [3, 4], "<f4", fortran=True),
        write("f8_fortran_2x3x4.npy", [2, 3, 4], "<f8", fortran=True),
        write("f4_v2_2x3.npy", [2, 3], "<f4", version=(2, 0)),
        write("f8_v2_fortran_3x2.npy", [3, 2], "<f8", fortran=True,
              version=(2, 0)),
        write("f4_v3_4.npy", [4], "<f4", version=(3, 0)),
        write("f8_v3_0d.npy", [], "<f8", version=(3, 0)),
    ]
    long = [c for c in cases if c["file"] == "f4_long_header_32d.npy"][0]
    # The case that broke a sign-extending reader: a length byte >= 0x80.
    assert long["header_len"] >= 128 and long["header_len"] & 0x80, long
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump({"numpy": np.__version__,
                   "values": "k * 0.5 - 3 at flat C-order index k",
                   "cases": cases}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
