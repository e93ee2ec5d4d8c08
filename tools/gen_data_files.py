#!/usr/bin/python3
"""Writes the reference files of tests/data/files/ with NumPy and a binvox
writer written from the format's description, independent of voxgrad's C++
readers (the tests read these files and compare with expected.json).

Run with Debian's python3 (numpy 1.24): /usr/bin/python3 tools/gen_data_files.py
"""
import json
import os

import numpy as np

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "files")


def binvox_bytes(vox_xyz, translate=(-1.0, -1.0, -1.0), scale=2.0):
    """binvox: dims (d, h, w) = extents of x, z, y; runs in x, z, y order
    (y fastest), (value, count) pairs with count <= 255."""
    nx, ny, nz = vox_xyz.shape
    header = "#binvox 1\ndim %d %d %d\ntranslate %g %g %g\nscale %g\ndata\n" % (
        nx, nz, ny, *translate, scale)
    flat = np.transpose(vox_xyz, (0, 2, 1)).reshape(-1).astype(np.uint8)
    out = bytearray(header.encode())
    i = 0
    while i < len(flat):
        v = flat[i]
        n = 1
        while i + n < len(flat) and flat[i + n] == v and n < 255:
            n += 1
        out += bytes([v, n])
        i += n
    return bytes(out)


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(14)
    # A non-cubic grid indexed [x][y][z]: extents x 5, y 6, z 7.
    vox = rng.random((5, 6, 7)) < 0.4
    occupied = sorted([list(map(int, p)) for p in np.argwhere(vox)])
    np.save(os.path.join(OUT, "grid_xyz_bool.npy"), vox)
    zyx = np.transpose(vox, (2, 1, 0))
    np.save(os.path.join(OUT, "grid_zyx_f4_fortran.npy"),
            np.asfortranarray(zyx.astype(np.float32) * 0.9))
    np.save(os.path.join(OUT, "grid_zyx_i8_batched.npy"),
            zyx.astype(np.int64)[None] * 3)
    np.savez_compressed(os.path.join(OUT, "grids_compressed.npz"),
                        voxels=zyx.astype(np.uint8),
                        labels=np.arange(3, dtype=np.float64))
    np.savez(os.path.join(OUT, "grid_stored.npz"), zyx.astype(np.float64))
    with open(os.path.join(OUT, "grid.binvox"), "wb") as f:
        f.write(binvox_bytes(vox, translate=(0.5, -0.25, 1.0), scale=3.5))
    # A cubic 40^3 grid with long runs (counts hit the 255 limit).
    big = np.zeros((40, 40, 40), dtype=bool)
    big[5:35, 10:30, 0:40] = True
    with open(os.path.join(OUT, "block40.binvox"), "wb") as f:
        f.write(binvox_bytes(big))
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump({"numpy": np.__version__, "extent_xyz": [5, 6, 7],
                   "occupied_xyz": occupied,
                   "block40_count": int(big.sum())}, f)
        f.write("\n")


if __name__ == "__main__":
    main()
