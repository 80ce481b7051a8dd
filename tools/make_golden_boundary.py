#!/usr/bin/env python
"""Generate golden values for lossctl's boundary metrics (hd, hd95, assd, masd, nsd) under every convention.

The expected values come from the reference libraries, which are NOT project dependencies. Run this script with
the reference environment (REFPY in the Makefile; KERAS_BACKEND=torch if anything pulls in Keras)::

    $(REFPY) tools/make_golden_boundary.py

It writes tests/golden/boundary_inputs.npz (keys "<case>/pred", "<case>/gt": integer label maps) and
tests/golden/boundary.json (cases, expected values, provenance). It never imports lossctl.

Each case is a pair of label maps, a spacing, a list of label sets (one class ``[c]`` or a region
``[l1, l2, ...]``: the union as one binary mask), the percentile p of hd95 and the nsd tolerance τ. For every
label set the references are called on the two binary masks:

* ``monai``: MONAI compute_hausdorff_distance (percentile None and p), compute_average_surface_distance
  (symmetric=True), compute_surface_dice (class_thresholds=[τ]); include_background=True on a 1-channel one-hot;
* ``medpy``: medpy.metric.binary hd, hd95, assd (voxelspacing=spacing, connectivity=1);
* ``deepmind``: surface_distance compute_surface_distances(gt, pred, spacing), then compute_robust_hausdorff(100)
  and (p), the mean of compute_average_surface_distance's two directed means, compute_surface_dice_at_tolerance;
* ``lossctl``: the definitions of the default convention applied to MedPy's own directed distance sets
  (``medpy.metric.binary.__surface_distances``, float64): max, max of the two directed np.percentile (linear),
  pooled mean, mean of the directed means, voxel counts within τ.

A value is stored as a number, or as "nan", "inf" or "error" (the reference raised) for the empty cases, where
lossctl applies its own documented policy instead of the reference's.
"""

from __future__ import annotations

import importlib.metadata
import json
import math
import os
import warnings
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")
warnings.filterwarnings("ignore")

import numpy as np  # noqa: E402
import surface_distance as deepmind  # noqa: E402
import torch  # noqa: E402
from medpy.metric import binary as medpy_binary  # noqa: E402
from monai.metrics import (compute_average_surface_distance, compute_hausdorff_distance,  # noqa: E402
                           compute_surface_dice)
from scipy import ndimage  # noqa: E402

# surface-distance 0.1 still spells np.Inf (removed in NumPy 2) on its empty-mask paths; give it the alias back.
np.Inf = np.inf  # noqa: NPY201 - the alias surface-distance needs

ROOT = Path(__file__).resolve().parents[1]
OUT_JSON = ROOT / "tests" / "golden" / "boundary.json"
OUT_NPZ = ROOT / "tests" / "golden" / "boundary_inputs.npz"
SEED = 20261201
METRICS = ("hd", "hd95", "assd", "masd", "nsd")
HAS = {"lossctl": METRICS, "monai": ("hd", "hd95", "assd", "nsd"), "medpy": ("hd", "hd95", "assd"),
       "deepmind": ("hd", "hd95", "masd", "nsd")}


def _encode(v: float) -> float | str:
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


def _monai(a: np.ndarray, b: np.ndarray, spacing, p: float, tau: float) -> dict[str, float | str]:
    yp = torch.as_tensor(a[None, None].astype(np.float32))
    yt = torch.as_tensor(b[None, None].astype(np.float32))
    sp = list(spacing)
    return {
        "hd": _encode(compute_hausdorff_distance(yp, yt, include_background=True, spacing=sp).item()),
        "hd95": _encode(compute_hausdorff_distance(yp, yt, include_background=True, spacing=sp,
                                                   percentile=p).item()),
        "assd": _encode(compute_average_surface_distance(yp, yt, include_background=True, symmetric=True,
                                                         spacing=sp).item()),
        "nsd": _encode(compute_surface_dice(yp, yt, [tau], include_background=True, spacing=sp).item()),
    }


def _medpy(a: np.ndarray, b: np.ndarray, spacing) -> dict[str, float | str]:
    out: dict[str, float | str] = {}
    for name, fn in (("hd", medpy_binary.hd), ("hd95", medpy_binary.hd95), ("assd", medpy_binary.assd)):
        try:
            out[name] = _encode(fn(a, b, voxelspacing=spacing, connectivity=1))
        except RuntimeError:
            out[name] = "error"
    return out


def _deepmind(a: np.ndarray, b: np.ndarray, spacing, p: float, tau: float) -> dict[str, float | str]:
    d = deepmind.compute_surface_distances(b.astype(bool), a.astype(bool), list(spacing))
    with np.errstate(all="ignore"):
        gt_to_pred, pred_to_gt = deepmind.compute_average_surface_distance(d)
        return {
            "hd": _encode(deepmind.compute_robust_hausdorff(d, 100)),
            "hd95": _encode(deepmind.compute_robust_hausdorff(d, p)),
            "masd": _encode((gt_to_pred + pred_to_gt) / 2),
            "nsd": _encode(deepmind.compute_surface_dice_at_tolerance(d, tau)),
        }


def _lossctl(a: np.ndarray, b: np.ndarray, spacing, p: float, tau: float) -> dict[str, float | str]:
    directed = getattr(medpy_binary, "__surface_distances")
    try:
        ab = directed(a, b, spacing, 1)
        ba = directed(b, a, spacing, 1)
    except RuntimeError:
        return {m: "error" for m in METRICS}
    return {
        "hd": _encode(max(ab.max(), ba.max())),
        "hd95": _encode(max(np.percentile(ab, p), np.percentile(ba, p))),
        "assd": _encode(np.concatenate([ab, ba]).mean()),
        "masd": _encode((ab.mean() + ba.mean()) / 2),
        "nsd": _encode((np.count_nonzero(ab <= tau) + np.count_nonzero(ba <= tau)) / (ab.size + ba.size)),
    }


def _labels_from_noise(rng: np.random.Generator, shape, sigma: float, cuts) -> np.ndarray:
    field = ndimage.gaussian_filter(rng.random(shape), sigma)
    q = np.quantile(field, cuts)
    return np.digitize(field, q).astype(np.uint8)


def _cases(rng: np.random.Generator) -> list[dict]:
    cases: list[dict] = []

    def add(cid, pred, gt, spacing, classes, p=95.0, tau=1.0, what=""):
        cases.append({"id": cid, "pred": pred, "gt": gt, "spacing": [float(s) for s in spacing],
                      "classes": classes, "percentile": p, "tolerance": tau, "what": what})

    for nd, shape, spacing in ((2, (48, 56), (0.8, 1.3)), (3, (24, 30, 28), (2.5, 0.7, 1.1))):
        gt = _labels_from_noise(rng, shape, 2.5, [0.55, 0.75, 0.9])
        pred = gt.copy()
        noisy = _labels_from_noise(rng, shape, 2.0, [0.55, 0.75, 0.9])
        flip = ndimage.gaussian_filter(rng.random(shape), 1.5) > 0.52
        pred[flip] = noisy[flip]
        classes = [[1], [2], [3], [1, 2, 3], [2, 3]]
        add(f"blobs{nd}d", pred, gt, spacing, classes, what="random multi-class blobs, anisotropic; two regions")
        add(f"blobs{nd}d_p90_tau2", pred, gt, spacing, classes, 90.0, 2.0, what="same, hd95 at p=90, nsd at 2.0")
        add(f"blobs{nd}d_iso", pred, gt, (1.0,) * nd, classes[:3], what="same, unit spacing")

        border_p = np.zeros(shape, np.uint8)
        border_g = np.zeros(shape, np.uint8)
        if nd == 2:
            border_p[0:10, 0:15] = 1
            border_g[0:12, 3:20] = 1
            border_p[-6:, -9:] = 2
            border_g[-4:, -12:-2] = 2
        else:
            border_p[0:6, 0:10, 0:9] = 1
            border_g[0:8, 2:12, 0:11] = 1
            border_p[-5:, -7:, -8:] = 2
            border_g[-3:, -9:-1, -6:] = 2
        add(f"border{nd}d", border_p, border_g, spacing, [[1], [2], [1, 2]], what="objects touching the borders")

        single_p = np.zeros(shape, np.uint8)
        single_g = np.zeros(shape, np.uint8)
        centre = tuple(n // 2 for n in shape)
        single_g[centre] = 1
        shifted = list(centre)
        shifted[-1] += 1
        single_p[tuple(shifted)] = 1
        add(f"single{nd}d", single_p, single_g, spacing, [[1]], what="one voxel each, shifted by one on the last axis")
        same = single_g.copy()
        add(f"single{nd}d_same", same, single_g, spacing, [[1]], what="one voxel, perfect prediction")

        comp_p = np.zeros(shape, np.uint8)
        comp_g = np.zeros(shape, np.uint8)
        lo = tuple(slice(2, 8) for _ in shape)
        comp_g[lo] = 1
        comp_p[tuple(slice(3, 9) for _ in shape)] = 1
        comp_p[tuple(slice(n - 3, n - 1) for n in shape)] = 1  # a distant false positive
        comp_g[tuple(slice(n - 8, n - 6) for n in shape)] = 1  # a second true component, missed in part
        comp_p[tuple(slice(n - 8, n - 7) for n in shape)] = 1
        add(f"components{nd}d", comp_p, comp_g, spacing, [[1]], what="two distant components and a far outlier")

        blob = np.zeros(shape, np.uint8)
        blob[tuple(slice(4, 12) for _ in shape)] = 1
        empty = np.zeros(shape, np.uint8)
        add(f"empty_both{nd}d", empty, empty, spacing, [[1]], what="class absent from both masks")
        add(f"empty_pred{nd}d", empty, blob, spacing, [[1]], what="missed structure: prediction empty")
        add(f"empty_gt{nd}d", blob, empty, spacing, [[1]], what="false positive: ground truth empty")
    return cases


def main() -> None:
    rng = np.random.default_rng(SEED)
    cases = _cases(rng)
    arrays = {}
    documented = []
    for case in cases:
        pred, gt = case.pop("pred"), case.pop("gt")
        arrays[f"{case['id']}/pred"] = pred
        arrays[f"{case['id']}/gt"] = gt
        expected: dict[str, dict[str, list]] = {c: {m: [] for m in HAS[c]} for c in HAS}
        for labels in case["classes"]:
            a, b = np.isin(pred, labels), np.isin(gt, labels)
            sp, p, tau = case["spacing"], case["percentile"], case["tolerance"]
            for name, values in (("lossctl", _lossctl(a, b, sp, p, tau)), ("monai", _monai(a, b, sp, p, tau)),
                                 ("medpy", _medpy(a, b, sp)), ("deepmind", _deepmind(a, b, sp, p, tau))):
                for m in HAS[name]:
                    expected[name][m].append(values[m])
        documented.append({**case, "shape": list(gt.shape), "expected": expected})
    versions = {k: importlib.metadata.version(k) for k in ("monai", "medpy", "surface-distance", "torch", "numpy",
                                                           "scipy")}
    doc = {
        "generated_by": "tools/make_golden_boundary.py",
        "command": "$(REFPY) tools/make_golden_boundary.py  (make golden)",
        "seed": SEED,
        "versions": versions,
        "conventions": {
            "expected": "expected[convention][metric][k] for the k-th label set of the case; 'nan', 'inf' or "
                        "'error' (the reference raised) are the references' raw results for empty masks",
            "monai": "float32 (MONAI stores distances and results as float32): compare at 1e-6 relative",
            "lossctl": "the default convention's definitions applied to MedPy's float64 directed distance sets",
        },
        "cases": documented,
    }
    OUT_NPZ.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUT_NPZ, **arrays)
    OUT_JSON.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    counts = {c: sum(len(v) for case in documented for v in case["expected"][c].values()) for c in HAS}
    print(f"wrote {OUT_JSON} and {OUT_NPZ}: {len(documented)} cases; values per convention: {counts}")


if __name__ == "__main__":
    main()
