#!/usr/bin/env python
"""Golden values for how a segmentation run averages its classes (issue 17, items 1 and 7), from scikit-learn
and MedPy, run in the reference venv (``make golden``; ``make refenv`` builds it).

* ``binary`` cases: B pairs of 0/1 masks. Per image, on the flattened masks, scikit-learn's ``f1_score``,
  ``jaccard_score``, ``precision_score`` and ``recall_score`` with their default ``average='binary'``
  (``pos_label=1``) under every ``zero_division`` the function accepts (``0``, ``1``, ``'warn'``, and ``nan``
  except for ``jaccard_score``), and MedPy's ``dc``, ``jc``, ``precision`` and ``recall`` (the non-zero voxels);
  ``pooled``: the same calls on all the images' pixels at once. lossctl's default convention reports class 1 of
  a two-class run; its ``--empty`` gives the 0/0 cases.
* ``labels`` cases: B multi-class label images (a class absent from both masks of every image, a class absent
  from the prediction of an image, a class absent from one image only). Per image, each function with
  ``average='macro'`` and ``labels=None`` (lossctl's ``labels=present``) or ``labels=range(C)`` (``labels=all``;
  ``range(1, C)`` with the background excluded) under every ``zero_division``.

It writes ``tests/golden/sklearn_average.json`` (cases, expected values, the reference call, library versions)
and ``tests/golden/sklearn_average_inputs.npz`` (``<id>/pred``, ``<id>/target``: (B, H, W) int64). It never
imports lossctl.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import sklearn.metrics as skm
from medpy.metric import binary as medpy_binary

sys.path.insert(0, str(Path(__file__).resolve().parent))  # tools/ is not a package
import references  # noqa: E402

SEED = 20261217
RNG = np.random.default_rng(SEED)
COMMAND = "make golden (tools/make_golden_sklearn_average.py in the reference venv)"
warnings.filterwarnings("ignore")  # sklearn's UndefinedMetricWarning under zero_division='warn'

VERSIONS = {**references.versions(("scikit-learn", "numpy"), ""), "medpy": references.dist_version("medpy")}
SK_FN = {"dice": skm.f1_score, "iou": skm.jaccard_score, "precision": skm.precision_score,
         "recall": skm.recall_score}
MEDPY_FN = {"dice": medpy_binary.dc, "iou": medpy_binary.jc, "precision": medpy_binary.precision,
            "recall": medpy_binary.recall}
ZERO_DIVISIONS = ("0", "1", "warn", "nan")

CASES: list[dict] = []
ARRAYS: dict[str, np.ndarray] = {}


def add(case_id: str, pred: np.ndarray, target: np.ndarray, **fields) -> None:
    assert all(c["id"] != case_id for c in CASES), case_id
    ARRAYS[f"{case_id}/pred"] = np.ascontiguousarray(pred, dtype=np.int64)
    ARRAYS[f"{case_id}/target"] = np.ascontiguousarray(target, dtype=np.int64)
    CASES.append({"id": case_id, **fields})


def nan_to_none(v) -> float | None:
    v = float(v)
    return None if np.isnan(v) else v


def zero_division(text: str):
    return {"0": 0, "1": 1, "warn": "warn", "nan": np.nan}[text]


def accepts(value: str, zd: str) -> bool:
    return not (value == "iou" and zd == "nan")  # jaccard_score takes 0, 1 or 'warn'


# --------------------------------------------------------------------------------------------------------------
# binary: average='binary' and MedPy on 0/1 masks
# --------------------------------------------------------------------------------------------------------------

def binary_images(shape=(9, 11)) -> tuple[np.ndarray, np.ndarray]:
    """Six pairs of 0/1 masks: two ordinary ones, a perfect prediction, no foreground in either mask (every
    ratio 0/0), foreground only in the ground truth (precision 0/0), only in the prediction (recall 0/0)."""
    gt = (RNG.random((6, *shape)) < 0.35).astype(np.int64)
    pred = np.where(RNG.random(gt.shape) < 0.8, gt, 1 - gt)
    pred[2] = gt[2]
    gt[3], pred[3] = 0, 0
    pred[4] = 0
    gt[5] = 0
    pred[5].reshape(-1)[:7] = 1
    return pred, gt


def binary_cases() -> None:
    pred, gt = binary_images()
    for zd in ZERO_DIVISIONS:
        for value, fn in SK_FN.items():
            if not accepts(value, zd):
                continue
            kw = {"zero_division": zero_division(zd)}
            per_image = [fn(g.reshape(-1), p.reshape(-1), **kw) for p, g in zip(pred, gt, strict=True)]
            pooled = fn(gt.reshape(-1), pred.reshape(-1), **kw)
            add(f"binary-{value}-sklearn-zd_{zd}", pred, gt, kind="binary", value=value, reference_library="sklearn",
                zero_division=zd, expected_per_image=[nan_to_none(v) for v in per_image],
                expected_pooled=nan_to_none(pooled),
                reference=f"sklearn.metrics.{fn.__name__}(gt.reshape(-1), pred.reshape(-1), zero_division={zd!r}) "
                          "(average='binary', pos_label=1: the defaults) per image; pooled: every image's pixels")
    for value, fn in MEDPY_FN.items():
        per_image = [fn(p, g) for p, g in zip(pred, gt, strict=True)]
        add(f"binary-{value}-medpy", pred, gt, kind="binary", value=value, reference_library="medpy",
            expected_per_image=[nan_to_none(v) for v in per_image], expected_pooled=nan_to_none(fn(pred, gt)),
            reference=f"medpy.metric.binary.{fn.__name__}(result=pred, reference=gt) per image; pooled: the (B, H, W) "
                      "stack")


# --------------------------------------------------------------------------------------------------------------
# labels: average='macro' with labels=None or labels=range(C)
# --------------------------------------------------------------------------------------------------------------

def label_images(c=5, shape=(8, 10)) -> tuple[np.ndarray, np.ndarray]:
    """Three images of classes 0..c-2 (class c-1 is in no mask, class 3 is absent from image 0's prediction
    but in its ground truth, class 2 is absent from image 1 on both sides)."""
    gt = RNG.integers(0, c - 1, size=(3, *shape))
    pred = np.where(RNG.random(gt.shape) < 0.7, gt, RNG.integers(0, c - 1, size=gt.shape))
    pred[0][pred[0] == 3] = 1
    gt[0].reshape(-1)[:4] = 3
    gt[1][gt[1] == 2] = 0
    pred[1][pred[1] == 2] = 0
    return pred, gt


def labels_cases() -> None:
    c = 5
    pred, gt = label_images(c)
    for labels in ("present", "all"):
        for exclude_background in (False, True):
            for zd in ZERO_DIVISIONS:
                for value, fn in SK_FN.items():
                    if not accepts(value, zd):
                        continue
                    per_image = []
                    for p, g in zip(pred, gt, strict=True):
                        yt, yp = g.reshape(-1), p.reshape(-1)
                        chosen = sorted(set(yt.tolist()) | set(yp.tolist())) if labels == "present" else list(range(c))
                        if exclude_background:
                            chosen = [k for k in chosen if k != 0]
                        per_image.append(fn(yt, yp, labels=chosen, average="macro", zero_division=zero_division(zd)))
                    spelled = "None" if labels == "present" else f"range({1 if exclude_background else 0}, {c})"
                    if labels == "present" and exclude_background:
                        spelled = "<present in y_true or y_pred, minus 0>"
                    nobg = "-nobg" if exclude_background else ""
                    add(f"labels-{value}-{labels}{nobg}-zd_{zd}", pred, gt, kind="labels", value=value, labels=labels,
                        exclude_background=exclude_background, num_classes=c, zero_division=zd,
                        expected_per_image=[nan_to_none(v) for v in per_image],
                        reference=f"sklearn.metrics.{fn.__name__}(y_true, y_pred, labels={spelled}, average='macro', "
                                  f"zero_division={zd!r}) on each image's flattened masks")


def main():
    binary_cases()
    labels_cases()
    doc = {"generated_by": "tools/make_golden_sklearn_average.py", "command": COMMAND, "seed": SEED,
           "versions": VERSIONS, "cases": CASES}
    references.write_golden(references.GOLDEN_DIR, "sklearn_average_inputs.npz", ARRAYS, "sklearn_average.json", doc)
    print(f"{len(CASES)} cases written")


if __name__ == "__main__":
    main()
