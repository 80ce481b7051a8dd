#!/usr/bin/env python
"""Generate golden values for lossctl's topology and boundary-overlap metrics (cldice, boundary_iou).

The expected values come from the reference code, which is NOT a project dependency and is not on the package
index: three GitHub checkouts, run from where they are (their commits are recorded in the fixture). Run this
script with the reference environment (REFPY in the Makefile: scikit-image 0.26, opencv-python-headless)::

    $(REFPY) tools/make_golden_topology.py --refs DIR   (make golden; DIR holds the three checkouts)

DIR holds ``clDice`` (jocpae/clDice), ``boundary-iou-api`` (bowenc0221/boundary-iou-api) and
``MetricsReloaded`` (Project-MONAI/MetricsReloaded). It writes tests/golden/topology_inputs.npz (keys
"<case>/pred", "<case>/gt": integer label maps) and tests/golden/topology.json (cases, expected values,
provenance). It never imports lossctl.

For every label set of a case (one class ``[c]`` or a region ``[l1, l2, ...]``: the union as one binary mask):

* ``lossctl`` ``cldice``: ``cldice_metric.cldice.clDice(pred, gt)`` of the clDice checkout, unmodified. It
  imports ``skeletonize_3d``, which scikit-image 0.26 no longer has: the name is given back as
  ``skeletonize(method="lee")``, the function it was (its 0/255 output scale cancels in the ratios);
* ``lossctl`` ``boundary_iou``, 2D: the IoU of two ``mask_to_boundary(mask, dilation_ratio)`` bands of the
  Boundary IoU API's ``boundary_iou/utils/boundary_utils.py`` (OpenCV), as its panoptic evaluation divides the
  band intersection by the band union; the module is loaded by path, with ``pycocotools`` (imported at its top,
  used only by its COCO helpers) stubbed. 3D, which the API does not cover: the API's steps transcribed to
  3D (pad one zero voxel, ``scipy.ndimage.binary_erosion`` by the 3x3x3 cube ``d`` times, crop, subtract, ``d``
  from the voxel diagonal), a reading of the API, not the API;
* ``metricsreloaded``: ``BinaryPairwiseMeasures(pred, gt).centreline_dsc()`` and ``.boundary_iou()`` of the
  MetricsReloaded checkout (``pandas``, imported at the top of its utils and unused by these two, stubbed).

A value is a number or "nan" (the reference returned NaN: empty masks or skeletons, 0/0): lossctl applies its
own documented policy there (tests/test_golden_topology.py pins it).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import math
import subprocess
import sys
import types
import warnings
from pathlib import Path

import numpy as np
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).resolve().parent))
import references  # noqa: E402

warnings.filterwarnings("ignore")

ROOT = Path(__file__).resolve().parents[1]
OUT_JSON = ROOT / "tests" / "golden" / "topology.json"
OUT_NPZ = ROOT / "tests" / "golden" / "topology_inputs.npz"
SEED = 20261206
CHECKOUTS = {"clDice": "jocpae/clDice", "boundary-iou-api": "bowenc0221/boundary-iou-api",
             "MetricsReloaded": "Project-MONAI/MetricsReloaded"}


def _encode(v: float) -> float | str:
    v = float(v)
    return "nan" if math.isnan(v) else v


def _commit(path: Path) -> str:
    return subprocess.run(["git", "-C", str(path), "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()


def _load_references(refs: Path):
    """(clDice function, mask_to_boundary, BinaryPairwiseMeasures) from the three checkouts."""
    import skimage.morphology
    from skimage.morphology import skeletonize

    if not hasattr(skimage.morphology, "skeletonize_3d"):  # removed in scikit-image 0.25
        skimage.morphology.skeletonize_3d = lambda image: skeletonize(image, method="lee")
    sys.path.insert(0, str(refs / "clDice"))
    from cldice_metric.cldice import clDice

    coco = types.ModuleType("pycocotools")
    coco.mask = types.ModuleType("pycocotools.mask")
    sys.modules.setdefault("pycocotools", coco)
    sys.modules.setdefault("pycocotools.mask", coco.mask)
    utils = references.load_module("boundary_iou_utils",
                                   str(refs / "boundary-iou-api" / "boundary_iou" / "utils" / "boundary_utils.py"))

    sys.modules.setdefault("pandas", types.ModuleType("pandas"))
    sys.path.insert(0, str(refs / "MetricsReloaded"))
    from MetricsReloaded.metrics.pairwise_measures import BinaryPairwiseMeasures

    return clDice, utils.mask_to_boundary, BinaryPairwiseMeasures


def _api_band_3d(mask: np.ndarray, dilation_ratio: float) -> np.ndarray:
    """mask_to_boundary's steps in 3D: d from the voxel diagonal, one zero voxel of padding, d erosions by the
    3x3x3 cube, the mask minus the cropped erosion."""
    diag = np.sqrt(sum(n ** 2 for n in mask.shape))
    dilation = max(1, int(round(dilation_ratio * diag)))
    padded = np.pad(mask.astype(np.uint8), 1)
    eroded = ndimage.binary_erosion(padded, structure=np.ones((3, 3, 3)), iterations=dilation)
    return mask.astype(np.uint8) - eroded[1:-1, 1:-1, 1:-1].astype(np.uint8)


def _band_iou(a: np.ndarray, b: np.ndarray) -> float:
    inter = np.count_nonzero((a > 0) & (b > 0))
    union = np.count_nonzero(a > 0) + np.count_nonzero(b > 0) - inter
    return inter / union if union else math.nan


def _tubes(rng: np.random.Generator, shape, n: int, radius: int) -> np.ndarray:
    """A tree-like mask: ``n`` random polylines (3 segments each) thickened to ``radius``."""
    from skimage.draw import line_nd

    out = np.zeros(shape, bool)
    hi = np.asarray(shape) - 1
    for _ in range(n):
        point = rng.integers(0, hi + 1)
        for _ in range(3):
            nxt = np.clip(point + rng.integers(-hi // 2, hi // 2 + 1), 0, hi)
            out[line_nd(point, nxt, endpoint=True)] = True
            point = nxt
    if radius:
        out = ndimage.binary_dilation(out, ndimage.generate_binary_structure(len(shape), 1), iterations=radius)
    return out


def _cases(rng: np.random.Generator) -> list[dict]:
    cases: list[dict] = []

    def add(cid, pred, gt, classes, what, ratio=0.02, spacing=None):
        cases.append({"id": cid, "pred": pred.astype(np.uint8), "gt": gt.astype(np.uint8), "classes": classes,
                      "dilation_ratio": ratio, "spacing": spacing, "what": what})

    for nd, shape, spacing in ((2, (96, 120), (0.7, 1.3)), (3, (28, 34, 30), (2.5, 0.7, 1.1))):
        vessels = _tubes(rng, shape, 4, 1)
        smooth = ndimage.gaussian_filter(rng.random(shape), 5.0)
        blobs = smooth > np.quantile(smooth, 0.65)  # large blobs: the band width matters
        gt = np.where(vessels, 1, np.where(blobs, 2, 0))
        pred_vessels = np.roll(vessels, 1, axis=0) & ~_tubes(rng, shape, 1, 2)  # shifted, one stretch missing
        pred_vessels |= _tubes(rng, shape, 1, 0)  # a spurious thin branch
        grown = ndimage.binary_dilation(blobs, iterations=2) & (ndimage.gaussian_filter(rng.random(shape), 2.0) > 0.5)
        pred_blobs = (blobs & ~_tubes(rng, shape, 2, 2)) | (grown & ~vessels)
        pred = np.where(pred_vessels, 1, np.where(pred_blobs, 2, 0))
        classes = [[1], [2], [1, 2]]
        add(f"vessels{nd}d", pred, gt, classes, "tubes (class 1) and blobs (class 2); a region of both", 0.02,
            list(spacing))
        add(f"vessels{nd}d_ratio", pred, gt, classes, "same, dilation_ratio 0.05", 0.05)
        add(f"vessels{nd}d_perfect", gt, gt, classes, "perfect prediction")

        border_p = np.zeros(shape, np.uint8)
        border_g = np.zeros(shape, np.uint8)
        if nd == 2:
            border_p[0:14, 0:25] = 1
            border_g[0:16, 3:30] = 1
            border_p[-9:, -19:] = 2
            border_g[-6:, -22:-2] = 2
        else:
            border_p[0:5, 0:11, 0:9] = 1
            border_g[0:7, 2:13, 0:11] = 1
            border_p[-5:, -7:, -9:] = 2
            border_g[-3:, -9:-1, -7:] = 2
        add(f"border{nd}d", border_p, border_g, [[1], [2], [1, 2]], "objects touching the image's edges")
        if nd == 3:
            box_p, box_g = np.zeros(shape, np.uint8), np.zeros(shape, np.uint8)
            box_p[0:8, 0:10, 0:11] = 1
            box_g[1:9, 1:11, 0:12] = 1
            add("vanishing3d", box_p, box_g, [[1]], "solid boxes whose Lee skeletons are empty (scikit-image)")

        apart_p = np.zeros(shape, np.uint8)
        apart_g = np.zeros(shape, np.uint8)
        apart_p[tuple(slice(2, 8) for _ in shape)] = 1
        apart_g[tuple(slice(12, 18) for _ in shape)] = 1
        add(f"apart{nd}d", apart_p, apart_g, [[1]], "two masks that do not overlap")

        tiny_p = np.zeros(shape, np.uint8)
        tiny_g = np.zeros(shape, np.uint8)
        tiny_p[tuple(slice(5, 7) for _ in shape)] = 1  # a 2x2(x2) block: Lee's thinning deletes the cube
        tiny_g[tuple(slice(5, 8) for _ in shape)] = 1
        add(f"tiny{nd}d", tiny_p, tiny_g, [[1]], "a 2x2(x2) block against a 3x3(x3) one")

        blob = np.zeros(shape, np.uint8)
        blob[tuple(slice(4, 12) for _ in shape)] = 1
        empty = np.zeros(shape, np.uint8)
        add(f"empty_both{nd}d", empty, empty, [[1]], "class absent from both masks")
        add(f"empty_pred{nd}d", empty, blob, [[1]], "missed structure: prediction empty")
        add(f"empty_gt{nd}d", blob, empty, [[1]], "false positive: ground truth empty")

    half_p = np.zeros((30, 40), np.uint8)
    half_g = np.zeros((30, 40), np.uint8)
    half_p[3:25, 4:33] = 1
    half_g[5:27, 2:36] = 1
    add("halfway2d", half_p, half_g, [[1]], "0.05 x diagonal 50 = 2.5: d = 2 (round half to even)", 0.05)
    add("halfway2d_up", half_p, half_g, [[1]], "0.07 x 50 = 3.5000000000000004: d = 4", 0.07)
    return cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--refs", type=Path, required=True, help="the folder holding the three checkouts")
    args = parser.parse_args()
    refs = args.refs.resolve()
    cldice, mask_to_boundary, measures = _load_references(refs)
    rng = np.random.default_rng(SEED)
    arrays = {}
    documented = []
    for case in _cases(rng):
        pred, gt = case.pop("pred"), case.pop("gt")
        arrays[f"{case['id']}/pred"] = pred
        arrays[f"{case['id']}/gt"] = gt
        expected: dict[str, dict[str, list]] = {c: {"cldice": [], "boundary_iou": []}
                                                for c in ("lossctl", "metricsreloaded")}
        for labels in case["classes"]:
            a, b = np.isin(pred, labels).astype(np.uint8), np.isin(gt, labels).astype(np.uint8)
            with np.errstate(all="ignore"):
                expected["lossctl"]["cldice"].append(_encode(cldice(a.astype(bool), b.astype(bool))))
                if a.ndim == 2:
                    bands = [mask_to_boundary(m, case["dilation_ratio"]) for m in (a, b)]
                else:
                    bands = [_api_band_3d(m, case["dilation_ratio"]) for m in (a, b)]
                expected["lossctl"]["boundary_iou"].append(_encode(_band_iou(*bands)))
                pair = measures(a, b)
                expected["metricsreloaded"]["cldice"].append(_encode(pair.centreline_dsc()))
                expected["metricsreloaded"]["boundary_iou"].append(_encode(pair.boundary_iou()))
        documented.append({**case, "shape": list(gt.shape), "expected": expected})
    import cv2

    versions = {k: importlib.metadata.version(k) for k in ("scikit-image", "opencv-python-headless", "numpy",
                                                           "scipy")}
    versions["cv2"] = cv2.__version__
    doc = {
        "generated_by": "tools/make_golden_topology.py",
        "command": "$(REFPY) tools/make_golden_topology.py --refs $(REFS)  (make golden)",
        "seed": SEED,
        "versions": versions,
        "checkouts": {repo: {"path": name, "commit": _commit(refs / name)} for name, repo in CHECKOUTS.items()},
        "conventions": {
            "expected": "expected[convention][metric][k] for the k-th label set of the case; 'nan': the "
                        "reference returned NaN (lossctl applies its documented policy there)",
            "lossctl": "cldice: jocpae/clDice cldice_metric/cldice.py clDice (skeletonize_3d given back as "
                       "skeletonize(method='lee')); boundary_iou: 2D the API's mask_to_boundary bands (OpenCV), "
                       "3D its steps with scipy.ndimage.binary_erosion by the 3x3x3 cube (the API has no 3D)",
            "metricsreloaded": "BinaryPairwiseMeasures(pred, gt).centreline_dsc() and .boundary_iou()",
            "spacing": "recorded for the anisotropic cases; no reference reads it (both metrics count pixels)",
        },
        "cases": documented,
    }
    OUT_NPZ.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUT_NPZ, **arrays)
    OUT_JSON.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {OUT_JSON} and {OUT_NPZ}: {len(documented)} cases")


if __name__ == "__main__":
    main()
