#!/usr/bin/python3
"""Reference values for voxgrad::metrics, by brute force in NumPy (float64),
written to tests/metrics/reference.json with their inputs: random point sets
(float32 values), occupancy grids, and the metrics the C++ tests must
reproduce: IoU, Chamfer-L1/L2 and F-score per pair, MMD-CD, COV-CD and 1-NNA
between a sample set and a reference set, and each grid's number of
boundary faces.

Run with Debian's python3: /usr/bin/python3 tools/gen_metrics_reference.py
"""
import json
import os

import numpy as np

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "metrics",
                   "reference.json")


def nearest_sq(a, b):
    """For each point of a, the squared distance to its nearest point of b."""
    d = ((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)
    return d.min(1)


def chamfer_l2(a, b):
    return nearest_sq(a, b).mean() + nearest_sq(b, a).mean()


def surface(a, b, tau):
    da, db = np.sqrt(nearest_sq(a, b)), np.sqrt(nearest_sq(b, a))
    p, r = (da <= tau).mean(), (db <= tau).mean()
    f = 2 * p * r / (p + r) if p + r > 0 else 0.0
    return {"chamfer_l1": (da.mean() + db.mean()) / 2,
            "chamfer_l2": (da ** 2).mean() + (db ** 2).mean(),
            "precision": p, "recall": r, "fscore": f}


def generation(samples, refs):
    g, r = len(samples), len(refs)
    gr = np.array([[chamfer_l2(x, y) for y in refs] for x in samples])
    gg = np.array([[chamfer_l2(x, y) for y in samples] for x in samples])
    rr = np.array([[chamfer_l2(x, y) for y in refs] for x in refs])
    mmd = gr.min(0).mean()
    cov = len(set(gr.argmin(1).tolist())) / r
    full = np.block([[gg, gr], [gr.T, rr]])
    np.fill_diagonal(full, np.inf)
    nearest = full.argmin(1)  # lowest index on ties, samples first
    label = np.arange(g + r) < g
    nna = (label[nearest] == label).mean()
    return {"mmd_cd": mmd, "cov_cd": cov, "nna_cd": nna}


def boundary_faces(vox):
    """Faces between an occupied voxel and an empty one or the outside."""
    p = np.pad(vox, 1).astype(np.int8)
    return int(sum(np.abs(np.diff(p, axis=a)).sum() for a in range(3)))


def main():
    rng = np.random.default_rng(2016)
    sets = []
    for n in (40, 55, 64, 31, 47, 60, 52, 38):
        centre = rng.normal(0, 0.1, 3)
        scale = rng.uniform(0.1, 0.4)
        sets.append((centre + scale * rng.normal(0, 1, (n, 3)))
                    .astype(np.float32))
    pts = [s.astype(np.float64) for s in sets]
    tau = 0.05
    pairs = [{"a": i, "b": j, **surface(pts[i], pts[j], tau)}
             for i in range(len(pts)) for j in range(len(pts)) if i != j]
    samples, refs = list(range(0, 3)), list(range(3, 8))
    gen = generation([pts[i] for i in samples], [pts[i] for i in refs])
    grids = [(rng.random((4, 5, 6)) < q) for q in (0.2, 0.5, 0.8)]
    grids.append(np.zeros((4, 5, 6), dtype=bool))
    probs = [rng.random(g.shape) for g in grids]
    ious = []
    for g, p in zip(grids, probs):
        pred = p > 0.3
        u = (pred | g).sum()
        ious.append(1.0 if u == 0 else float((pred & g).sum() / u))
    out = {
        "numpy": np.__version__,
        "tau": tau,
        "points": [s.tolist() for s in sets],
        "pairs": pairs,
        "samples": samples, "references": refs, "generation": gen,
        "grids_zyx": [g.astype(int).tolist() for g in grids],
        "probs_zyx": [p.tolist() for p in probs],
        "iou_threshold": 0.3, "iou": ious,
        "boundary_faces": [boundary_faces(g) for g in grids],
    }
    with open(OUT, "w") as f:
        json.dump(out, f, default=float)
        f.write("\n")


if __name__ == "__main__":
    main()
