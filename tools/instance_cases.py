"""The inputs of the instance and lesion golden values, generated deterministically (NumPy only).

Shared by tools/make_golden_instances_panoptica.py, make_golden_instances_hovernet.py and make_golden_lesions_brats.py,
which each run in the side environment of one reference and never import lossctl. tools/ is not a package
a
generator imports this module with ``sys.path.insert(0, str(Path(__file__).resolve().parent))``.

Three families, each a list of cases ``{"id", "kind", "spacing", "pred", "gt"}``:

* :func:`semantic_cases`: binary masks (2D and 3D) whose instances are connected components: touching lesions
  (diagonal contact: one component with the full neighbourhood, two with faces only), nested lesions (a ring around
  a core), one-to-many and many-to-one overlaps, IoU and Dice exactly at 0.5, ties at a low threshold,
  anisotropic spacing, objects at the array's edge, random blobs, and empty masks on either side;
* :func:`label_cases`: instance maps (2D, one 3D) with touching instances, ids up to 2^31 - 1, exact ties at
  IoU 0.5 on both sides, over- and under-segmentation, and empty maps;
* :func:`brats_cases`: 3D BraTS label maps (labels 1, 2, 3) with big, small (dropped) and close (merged) lesions,
  a prediction touching two lesions, one touching only a dropped lesion, false positives, and empty masks.
"""

from __future__ import annotations

import numpy as np

SEED = 20261219


def _box(a: np.ndarray, lo, hi, value=1) -> None:
    a[tuple(slice(x, y) for x, y in zip(lo, hi, strict=True))] = value


def _ellipsoid(shape, centre, radii) -> np.ndarray:
    grids = np.ogrid[tuple(slice(0, n) for n in shape)]
    return sum(((g - c) / r) ** 2 for g, c, r in zip(grids, centre, radii, strict=True)) <= 1.0


def _random_blobs(rng, shape, n, rmin, rmax) -> list[np.ndarray]:
    out = []
    for _ in range(n):
        radii = rng.uniform(rmin, rmax, size=len(shape))
        centre = [rng.uniform(r, s - r) for r, s in zip(radii, shape, strict=True)]
        out.append(_ellipsoid(shape, centre, radii))
    return out


def _perturb(rng, blobs, shape, drop=0.2, extra=2, rmin=1.5, rmax=3.0) -> np.ndarray:
    """A prediction from ground-truth blobs: shifted, grown or shrunk, some dropped, some false ones added."""
    from scipy import ndimage

    pred = np.zeros(shape, bool)
    for b in blobs:
        if rng.random() < drop:
            continue
        shift = rng.integers(-2, 3, size=len(shape))
        moved = ndimage.shift(b.astype(np.uint8), shift, order=0) > 0
        op = rng.integers(0, 3)
        if op == 1:
            moved = ndimage.binary_dilation(moved)
        elif op == 2:
            moved = ndimage.binary_erosion(moved) if ndimage.binary_erosion(moved).any() else moved
        pred |= moved
    for b in _random_blobs(rng, shape, extra, rmin, rmax):
        pred |= b
    return pred


def semantic_cases() -> list[dict]:
    rng = np.random.default_rng(SEED)
    cases = []

    def add(cid, pred, gt, spacing):
        cases.append({"id": cid, "kind": "semantic", "spacing": [float(s) for s in spacing],
                      "pred": np.asarray(pred, np.uint8), "gt": np.asarray(gt, np.uint8)})

    # touching (diagonal contact), IoU and Dice exactly at 0.5, one-to-many, many-to-one
    g = np.zeros((24, 48), np.uint8)
    p = np.zeros_like(g)
    # two squares touching at a corner
    _box(g, (2, 2), (6, 6))
    _box(g, (6, 6), (10, 10))
    # the first exact, the second trimmed
    _box(p, (2, 2), (6, 6))
    _box(p, (7, 6), (10, 10))
    # IoU 8/16 = 0.5 exactly
    _box(g, (2, 14), (6, 18))
    _box(p, (2, 14), (6, 16))
    # Dice 16/32 = 0.5 exactly (IoU 1/3)
    _box(g, (2, 22), (6, 26))
    _box(p, (2, 24), (6, 28))
    # one gt, two preds
    _box(g, (12, 2), (20, 12))
    _box(p, (12, 2), (20, 6))
    _box(p, (12, 7), (20, 12))
    # two gts, one pred
    _box(g, (12, 16), (20, 20))
    _box(g, (12, 22), (20, 26))
    _box(p, (12, 16), (20, 26))
    # ties: 3/7 each
    _box(g, (12, 30), (20, 37))
    _box(p, (12, 30), (20, 33))
    _box(p, (12, 34), (20, 37))
    # at the array's edge
    _box(g, (21, 40), (24, 48))
    _box(p, (20, 42), (24, 48))
    add("shapes2d", p, g, (1.0, 1.0))
    add("shapes2d_aniso", p, g, (0.5, 1.5))
    # nested: a ring around a core, both sides
    g = np.zeros((32, 32), np.uint8)
    p = np.zeros_like(g)
    _box(g, (4, 4), (28, 28))
    _box(g, (7, 7), (25, 25), 0)
    _box(g, (12, 12), (20, 20))
    _box(p, (5, 4), (28, 27))
    _box(p, (8, 8), (25, 24), 0)
    _box(p, (11, 13), (19, 21))
    add("nested2d", p, g, (0.8, 0.8))
    # random blobs
    for k, shape in enumerate([(64, 80), (96, 96)]):
        blobs = _random_blobs(rng, shape, 9 + 3 * k, 2.0, 8.0)
        gt = np.any(blobs, axis=0)
        add(f"random2d_{k}", _perturb(rng, blobs, shape), gt, (1.0, 1.0) if k == 0 else (0.7, 1.1))
    # 3D
    shape = (20, 40, 40)
    g = np.zeros(shape, np.uint8)
    p = np.zeros_like(g)
    # corner contact: one lesion with 26
    _box(g, (2, 2, 2), (6, 8, 8))
    _box(g, (6, 8, 8), (9, 12, 12))
    _box(p, (2, 2, 2), (6, 8, 8))
    _box(p, (6, 9, 8), (9, 12, 12))
    # split
    _box(g, (2, 20, 2), (10, 30, 12))
    _box(p, (2, 20, 2), (10, 24, 12))
    _box(p, (2, 26, 2), (10, 30, 12))
    # merged
    _box(g, (12, 2, 20), (18, 8, 26))
    _box(g, (12, 10, 20), (18, 16, 26))
    _box(p, (12, 2, 20), (18, 16, 26))
    # nested, at the edge
    _box(g, (11, 20, 20), (20, 40, 40))
    _box(g, (13, 24, 24), (18, 36, 36), 0)
    _box(g, (14, 28, 28), (17, 32, 32))
    _box(p, (11, 21, 20), (20, 40, 39))
    _box(p, (13, 25, 24), (18, 36, 35), 0)
    _box(p, (14, 28, 29), (17, 33, 32))
    add("shapes3d", p, g, (2.0, 0.9, 0.9))
    for k, shape in enumerate([(24, 48, 48), (32, 40, 56)]):
        blobs = _random_blobs(rng, shape, 7 + 4 * k, 2.0, 6.0)
        gt = np.any(blobs, axis=0)
        add(f"random3d_{k}", _perturb(rng, blobs, shape), gt, (2.5, 0.8, 0.8) if k == 0 else (1.0, 1.0, 1.0))
    # empty either side
    for nd, shape in ((2, (16, 16)), (3, (8, 12, 12))):
        blob = np.zeros(shape, np.uint8)
        _box(blob, (2,) * nd, (6,) * nd)
        _box(blob, (7,) * nd, (8,) * nd)
        empty = np.zeros(shape, np.uint8)
        add(f"empty_pred{nd}d", empty, blob, (1.0,) * nd)
        add(f"empty_gt{nd}d", blob, empty, (1.0,) * nd)
        add(f"empty_both{nd}d", empty, empty, (1.0,) * nd)
        far = np.zeros(shape, np.uint8)
        _box(far, (shape[0] - 3,) + (0,) * (nd - 1), (shape[0],) + (3,) * (nd - 1))
        add(f"no_overlap{nd}d", far, blob, (1.0,) * nd)
    return cases


def label_cases() -> list[dict]:
    rng = np.random.default_rng(SEED + 1)
    cases = []

    def add(cid, pred, gt, spacing):
        cases.append({"id": cid, "kind": "labels", "spacing": [float(s) for s in spacing],
                      "pred": np.asarray(pred), "gt": np.asarray(gt)})

    # exact ties at IoU 0.5: one gt, two touching preds (each half); one pred over two touching gts
    g = np.zeros((16, 40), np.int32)
    p = np.zeros_like(g)
    _box(g, (2, 2), (6, 6), 7)
    _box(p, (2, 2), (6, 4), 900)
    _box(p, (2, 4), (6, 6), 31)
    _box(g, (2, 10), (6, 12), 2**31 - 1)
    _box(g, (2, 12), (6, 14), 70000)
    _box(p, (2, 10), (6, 14), 5)
    _box(g, (8, 2), (12, 10), 3)
    _box(p, (8, 2), (12, 5), 11)
    _box(p, (8, 5), (12, 8), 12)
    _box(p, (8, 8), (12, 10), 13)
    _box(g, (8, 14), (12, 18), 4)
    _box(g, (8, 18), (12, 22), 6)
    _box(p, (8, 15), (12, 21), 14)
    add("ties_labels2d", p, g, (1.0, 1.0))
    # nuclei-like tiles: touching instances from a Voronoi partition of random blobs, over/under segmentation
    for k, (shape, n) in enumerate([((64, 64), 14), ((96, 80), 30)]):
        gt = np.zeros(shape, np.int64)
        centres = rng.uniform(4, np.array(shape) - 4, size=(n, 2))
        yy, xx = np.mgrid[: shape[0], : shape[1]]
        d = (yy[..., None] - centres[:, 0]) ** 2 + (xx[..., None] - centres[:, 1]) ** 2
        nearest = d.argmin(-1)
        inside = d.min(-1) <= rng.uniform(9, 30)
        ids = rng.choice(np.arange(1, 10 * n), size=n, replace=False) * (1 if k == 0 else 1000)
        gt[inside] = ids[nearest[inside]]
        jitter = centres + rng.normal(0, 1.2, size=centres.shape)
        keep = rng.random(n) > 0.15
        dp = (yy[..., None] - jitter[:, 0]) ** 2 + (xx[..., None] - jitter[:, 1]) ** 2
        near_p = np.where(keep, dp, np.inf).argmin(-1)
        inside_p = np.where(keep, dp, np.inf).min(-1) <= rng.uniform(9, 30)
        pred = np.zeros(shape, np.int64)
        pred[inside_p] = near_p[inside_p] + 1
        split = rng.choice(n, size=2, replace=False)  # over-segment two nuclei along a line
        for s in split:
            cut = (pred == s + 1) & (xx > jitter[s, 1])
            pred[cut] = n + 1 + s
        add(f"nuclei2d_{k}", pred.astype(np.int32), gt, (0.5, 0.5) if k else (1.0, 1.0))
    # 3D instance map
    shape = (16, 32, 32)
    blobs = _random_blobs(rng, shape, 8, 2.0, 5.0)
    gt = np.zeros(shape, np.int32)
    for i, b in enumerate(blobs):
        gt[b] = 10 * (i + 1)
    pred = np.zeros(shape, np.int32)
    for i, b in enumerate(blobs[1:]):
        pred[np.roll(b, 1, axis=2)] = i + 1
    add("labels3d", pred, gt, (1.5, 1.0, 0.75))
    # empty either side
    blob = np.zeros((12, 12), np.int32)
    _box(blob, (2, 2), (5, 5), 4)
    _box(blob, (5, 5), (9, 9), 9)
    empty = np.zeros_like(blob)
    add("labels_empty_pred", empty, blob, (1.0, 1.0))
    add("labels_empty_gt", blob, empty, (1.0, 1.0))
    add("labels_empty_both", empty, empty, (1.0, 1.0))
    return cases


def brats_cases() -> list[dict]:
    rng = np.random.default_rng(SEED + 2)
    cases = []

    def add(cid, pred, gt, spacing):
        cases.append({"id": cid, "kind": "brats", "spacing": [float(s) for s in spacing],
                      "pred": np.asarray(pred, np.uint8), "gt": np.asarray(gt, np.uint8)})

    shape = (40, 48, 36)
    g = np.zeros(shape, np.uint8)
    p = np.zeros_like(g)
    # a big tumour: edema (2) around necrosis (1) and enhancing rim (3)
    g[_ellipsoid(shape, (12, 14, 12), (8, 9, 7))] = 2
    g[_ellipsoid(shape, (12, 14, 12), (5, 6, 4))] = 3
    g[_ellipsoid(shape, (12, 14, 12), (3, 3, 2))] = 1
    p[_ellipsoid(shape, (13, 15, 12), (8, 8, 7))] = 2
    p[_ellipsoid(shape, (13, 15, 12), (5, 5, 4))] = 3
    p[_ellipsoid(shape, (13, 14, 12), (2, 3, 2))] = 1
    # two small enhancing lesions 3 voxels apart (merged at dilation 3, not at 1), one prediction over both
    _box(g, (30, 4, 4), (34, 8, 8), 3)
    _box(g, (30, 11, 4), (34, 15, 8), 3)
    _box(p, (31, 5, 4), (34, 14, 8), 3)
    # a small lesion (8 voxels: dropped at 50 mm^3) touched by a prediction of its own
    _box(g, (30, 30, 4), (32, 32, 6), 3)
    _box(p, (30, 31, 5), (33, 34, 8), 3)
    # a medium lesion missed
    _box(g, (30, 40, 20), (35, 45, 25), 3)
    # false positives: one large, one single voxel
    _box(p, (2, 36, 26), (6, 42, 32), 3)
    p[36, 24, 30] = 3
    # a prediction near (within the dilation of) a lesion without overlapping it
    _box(g, (20, 36, 28), (25, 41, 33), 1)
    _box(p, (20, 42, 28), (25, 45, 33), 1)
    add("brats_mix", p, g, (1.0, 1.0, 1.0))
    add("brats_mix_aniso", p, g, (1.2, 0.9, 1.5))
    # random lesions of all sizes
    g = np.zeros(shape, np.uint8)
    p = np.zeros_like(g)
    for b in _random_blobs(rng, shape, 12, 1.0, 5.0):
        g[b] = rng.integers(1, 4)
    for b in _random_blobs(rng, shape, 4, 1.0, 3.0):
        p[b] = rng.integers(1, 4)
    from scipy import ndimage
    moved = ndimage.shift(g, (1, -1, 0), order=0)
    p = np.where(moved > 0, moved, p).astype(np.uint8)
    add("brats_random", p, g, (1.0, 1.0, 1.0))
    # only small lesions (all dropped at 50 mm^3), a prediction on one: neither a hit nor a false positive
    g = np.zeros(shape, np.uint8)
    p = np.zeros_like(g)
    _box(g, (4, 4, 4), (7, 7, 7), 3)
    _box(g, (20, 20, 20), (22, 22, 22), 3)
    _box(p, (4, 4, 5), (7, 8, 8), 3)
    add("brats_small_only", p, g, (1.0, 1.0, 1.0))
    # empty either side
    blob = np.zeros(shape, np.uint8)
    _box(blob, (10, 10, 10), (16, 16, 16), 3)
    _box(blob, (11, 11, 11), (14, 14, 14), 1)
    empty = np.zeros(shape, np.uint8)
    add("brats_empty_pred", empty, blob, (1.0, 1.0, 1.0))
    add("brats_empty_gt", blob, empty, (1.0, 1.0, 1.0))
    add("brats_empty_both", empty, empty, (1.0, 1.0, 1.0))
    return cases


def save_inputs(path, cases) -> None:
    """Write the cases' label maps to one compressed npz (keys ``<id>/pred``, ``<id>/gt``)."""
    arrays = {}
    for c in cases:
        arrays[f"{c['id']}/pred"] = c["pred"]
        arrays[f"{c['id']}/gt"] = c["gt"]
    np.savez_compressed(path, **arrays)


def write_json(path, doc: dict) -> None:
    """``doc`` as JSON with one line per run of each case (compact, and a regenerated fixture diffs by run)."""
    import json

    head = {k: v for k, v in doc.items() if k != "cases"}
    lines = [json.dumps(head, indent=1)[:-2] + ',\n "cases": [']
    for i, case in enumerate(doc["cases"]):
        meta = json.dumps({k: v for k, v in case.items() if k != "runs"})[:-1]
        runs = ",\n  ".join(json.dumps(r, separators=(",", ":")) for r in case["runs"])
        lines.append(f'{meta}, "runs": [\n  {runs}]}}' + ("," if i + 1 < len(doc["cases"]) else ""))
    path.write_text("\n".join(lines) + "]}\n")
